// responseCache(): an HTTP response cache for Express routes, shared by every instance through Redis.
import type { RequestHandler } from 'express';
import { Flights } from '../common/flights';
import { assertKnownOptions, assertOptionsObject, type OptionDefaults } from '../common/validate';
import { type RedisConnectionOptions, redisConnectionDefaults, resolveBackend } from '../redis';
import type { Shared } from './context';
import { hubFor, type InvalidationTarget } from './hub';
import { invalidationPathOf } from './key';
import { LocalCache } from './local';
import { createHandler } from './middleware';
import { parseOptions, type ResponseCacheOptions } from './options';
import { watchUnsafeRequest } from './write-invalidation';

export { ResponseInvalidationError, type TargetLists as ResponseInvalidationTargets } from './errors';
export type { CacheableStatus, ResponseCacheOptions } from './options';

/** What `invalidate()` drops: every response with one of the tags, of one of the paths, or of one of the routes. */
export interface InvalidateTarget {
  /** Tags the routes declared with `tags`. */
  tags?: readonly string[];
  /** Request paths, e.g. `/recipes/42` (compared decoded, case-insensitively, without a trailing slash). */
  paths?: readonly string[];
  /** Endpoints: route patterns as keyed (`/users/:uid/items`, with the routers' mount patterns) or `name` options. */
  routes?: readonly string[];
}

/** Every field of an {@link InvalidateTarget} (none has a default: a target names what it drops). */
export const invalidateTargetDefaults = {
  tags: undefined,
  paths: undefined,
  routes: undefined,
} as const satisfies OptionDefaults<InvalidateTarget>;

/** The middleware, with the invalidation helper. */
export interface ResponseCacheMiddleware extends RequestHandler {
  /**
   * Drops every matching response on every instance (no KEYS/SCAN); resolves to how many entries were
   * deleted. When Redis cannot be reached it rejects with `ResponseInvalidationError`
   * (`E_RESPONSE_CACHE_INVALIDATION`), and this process neither serves nor stores responses carrying
   * those targets until a background retry succeeds.
   */
  invalidate(target: InvalidateTarget): Promise<number>;
}

function toHubTarget(target: InvalidateTarget): InvalidationTarget {
  assertOptionsObject(target, 'invalidate');
  assertKnownOptions(target, invalidateTargetDefaults, 'invalidate() ');
  const list = (value: unknown, name: string): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      throw new TypeError(`invalidate() ${name} must be an array of strings`);
    }
    return value;
  };
  return {
    tags: list(target.tags, 'tags'),
    paths: list(target.paths, 'paths').map(invalidationPathOf),
    routes: list(target.routes, 'routes'),
  };
}

/**
 * Caches a route's GET responses in Redis under `api:{endpoint}:<params_hash>`, with ETag / 304,
 * Cache-Control, single flight, stale-while-revalidate / stale-if-error and invalidation by tag,
 * path, route and successful unsafe requests.
 *
 * @example app.get('/recipes', responseCache({ redis, ttl: '5m', tags: () => ['recipes'] }), listRecipes)
 */
export function responseCache(options?: ResponseCacheOptions): ResponseCacheMiddleware {
  const config = parseOptions(options);
  const hub = hubFor(config.backend);
  const shared: Shared = {
    config,
    hub,
    local: new LocalCache(hub, config.localTtlMs, config.localMaxEntries),
    flights: new Flights(),
    refreshes: new Flights(),
    storing: new Flights(),
  };
  hub.ensureSubscribed();
  const middleware = createHandler(shared) as ResponseCacheMiddleware;
  middleware.invalidate = (target) => hub.invalidate(toHubTarget(target));
  return middleware;
}

/**
 * A middleware for `app.use` that only invalidates: after a successful POST/PUT/PATCH/DELETE it drops
 * the cached responses of the request path (and of its Location / Content-Location) on every instance.
 * Mount it once, before the routes, when unsafe requests do not pass through a responseCache().
 */
responseCache.invalidator = function invalidator(options: RedisConnectionOptions = {}): RequestHandler {
  assertOptionsObject(options, 'responseCache.invalidator');
  assertKnownOptions(options, redisConnectionDefaults);
  const hub = hubFor(resolveBackend(options, 'response-cache'));
  hub.ensureSubscribed();
  return (req, res, next) => {
    watchUnsafeRequest(req, res, hub);
    next();
  };
};

/** Drops matching responses on every instance, through any client (for code that holds no middleware). */
responseCache.invalidate = (options: RedisConnectionOptions, target: InvalidateTarget): Promise<number> => {
  assertOptionsObject(options, 'responseCache.invalidate');
  assertKnownOptions(options, redisConnectionDefaults);
  return hubFor(resolveBackend(options, 'response-cache')).invalidate(toHubTarget(target));
};
