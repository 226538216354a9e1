// The query cache's coded error: an invalidation that could not be recorded in Redis.
import { messageOf, RedisMiddlewareError } from '../common/errors';

/**
 * `invalidate()` could not reach Redis for some tables. By the time it is thrown this process has
 * stopped reading those tables from the cache and retries the invalidation in the background.
 */
export class QueryInvalidationError extends RedisMiddlewareError {
  static readonly code = 'E_QUERY_CACHE_INVALIDATION';
  /** Tables whose invalidation is still pending. */
  readonly tables: readonly string[];

  constructor(tables: readonly string[], cause: unknown) {
    super(
      QueryInvalidationError.code,
      `could not invalidate ${tables.map((t) => JSON.stringify(t)).join(', ')} in Redis (${messageOf(cause)}); ` +
        'this process bypasses the cache for them and retries in the background',
      { key: tables[0], cause },
    );
    this.tables = tables;
  }
}
