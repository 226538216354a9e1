// The response cache's coded error: an invalidation that could not be completed in Redis.
import { messageOf, RedisMiddlewareError } from '../common/errors';

/** What an invalidation targeted, as lists. */
export interface TargetLists {
  tags: string[];
  paths: string[];
  routes: string[];
}

/** Describes targets for a message: `tags ["a"], paths ["/x"]`. */
export function describeTargets(targets: TargetLists): string {
  const parts: string[] = [];
  if (targets.tags.length > 0) parts.push(`tags ${JSON.stringify(targets.tags)}`);
  if (targets.paths.length > 0) parts.push(`paths ${JSON.stringify(targets.paths)}`);
  if (targets.routes.length > 0) parts.push(`routes ${JSON.stringify(targets.routes)}`);
  return parts.join(', ') || 'nothing';
}

/**
 * `invalidate()` (or the invalidation after an unsafe request) could not reach Redis. By the time it
 * is thrown this process neither serves nor stores responses carrying those targets, and retries the
 * invalidation in the background until it succeeds (the `cause` is the Redis error).
 */
export class ResponseInvalidationError extends RedisMiddlewareError {
  static readonly code = 'E_RESPONSE_CACHE_INVALIDATION';
  /** The targets whose invalidation is pending in this process. */
  readonly targets: TargetLists;

  constructor(targets: TargetLists, cause: unknown) {
    super(
      ResponseInvalidationError.code,
      `could not invalidate ${describeTargets(targets)} in Redis (${messageOf(cause)}); ` +
        'this process bypasses the cache for them and retries in the background',
      { key: targets.tags[0] ?? targets.paths[0] ?? targets.routes[0], cause },
    );
    this.targets = targets;
  }
}
