// queryCache(): DB query results cached by table in Redis, invalidated by table, never stale after a write.
import { parseOptions, type QueryCacheOptions } from './options';
import { createQueryCache, type QueryCache } from './query-cache';

export { QueryInvalidationError } from './errors';
export type { QueryCacheOptions } from './options';
export type { Query, TableList } from './query';
export type { QueryCache } from './query-cache';
export type { CacheableValue } from './serializer';

/**
 * Creates a query cache.
 *
 * @example
 * const q = queryCache({ redis, ttl: '10m', tables: { recipes: '15m', ratings: '5m' } });
 * const rows = await q.get({ tables: ['recipes'], sql, params: [id] }, () => stmt.all(id));
 * await q.write(['recipes'], () => update.run(title, id));
 */
export function queryCache(options: QueryCacheOptions = {}): QueryCache {
  return createQueryCache(parseOptions(options));
}
