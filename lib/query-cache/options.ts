// queryCache() options: the public type with defaults, and their one-time parsing into a config.
import { type Duration, describe, formatDuration, parseDuration } from '../common/duration';
import { warnOnce } from '../common/log';
import { assertKnownOptions, assertOptionsObject, type OptionDefaults, parseInteger } from '../common/validate';
import { type Backend, type RedisConnectionOptions, redisConnectionDefaults, resolveBackend } from '../redis';

/** Options of {@link queryCache}. */
export interface QueryCacheOptions extends RedisConnectionOptions {
  /**
   * Lifetime of cached results of tables not listed in `tables`. Clamped into `minTtl`…`maxTtl`
   * (5–15 min unless those are set), with one warning line when clamping changes it.
   * @default '10m'
   */
  ttl?: Duration;
  /**
   * Lifetime per table, e.g. `{ recipes: '15m', ratings: '5m' }`. Used exactly as written (not clamped):
   * a table listed here was given its TTL on purpose. A query's TTL is the shortest of its tables' TTLs.
   * @default {}
   */
  tables?: Record<string, Duration>;
  /**
   * Lower bound `ttl` is clamped to.
   * @default '5m'
   */
  minTtl?: Duration;
  /**
   * Upper bound `ttl` is clamped to.
   * @default '15m'
   */
  maxTtl?: Duration;
  /**
   * Largest serialized result stored, in bytes; larger results are returned but not cached
   * (a `skip` event with reason `too-large`).
   * @default 1048576 (1 MiB)
   */
  maxEntryBytes?: number;
}

/** Every option of {@link queryCache} with its default (`undefined`: none). */
export const queryCacheDefaults = {
  ...redisConnectionDefaults,
  ttl: '10m',
  tables: {},
  minTtl: '5m',
  maxTtl: '15m',
  maxEntryBytes: 1024 * 1024,
} as const satisfies OptionDefaults<QueryCacheOptions>;

/** Everything parsed, all required. */
export interface QueryCacheConfig {
  backend: Backend;
  /** TTL of tables not in `tableTtls`, already clamped. */
  defaultTtlMs: number;
  tableTtls: ReadonlyMap<string, number>;
  maxEntryBytes: number;
  /**
   * TTL of generation keys: twice the longest TTL an entry can get (`maxTtl`, `ttl`, every per-table
   * TTL), refreshed whenever an entry recording the generation is stored, so a generation outlives the
   * entries that depend on it and a table nobody reads any more leaves nothing behind.
   */
  generationTtlMs: number;
}

/** Validates options once, at factory time. @throws TypeError naming the option. */
export function parseOptions(options: QueryCacheOptions): QueryCacheConfig {
  assertOptionsObject(options, 'queryCache');
  assertKnownOptions(options, queryCacheDefaults);
  const minTtlMs = parseDuration(options.minTtl ?? queryCacheDefaults.minTtl, 'minTtl');
  const maxTtlMs = parseDuration(options.maxTtl ?? queryCacheDefaults.maxTtl, 'maxTtl');
  if (maxTtlMs < minTtlMs) {
    throw new TypeError(
      `maxTtl option must not be shorter than minTtl (${formatDuration(minTtlMs)}); received ${describe(options.maxTtl)}`,
    );
  }
  const requestedTtlMs = parseDuration(options.ttl ?? queryCacheDefaults.ttl, 'ttl');
  const defaultTtlMs = Math.min(maxTtlMs, Math.max(minTtlMs, requestedTtlMs));
  if (defaultTtlMs !== requestedTtlMs) {
    warnOnce(
      'W_QUERY_CACHE_TTL_CLAMPED',
      `queryCache ttl ${formatDuration(requestedTtlMs)} is outside minTtl…maxTtl (${formatDuration(minTtlMs)}…${formatDuration(maxTtlMs)}); using ${formatDuration(defaultTtlMs)}. List the table in the tables option, or set minTtl/maxTtl, to use another TTL.`,
    );
  }
  const tableTtls = new Map<string, number>();
  if (options.tables !== undefined) {
    const tables = options.tables as unknown;
    if (tables === null || typeof tables !== 'object' || Array.isArray(tables)) {
      throw new TypeError(
        `tables option must be an object of table names to durations, such as { recipes: '15m' }; received ${describe(tables)}`,
      );
    }
    for (const [table, ttl] of Object.entries(tables as Record<string, unknown>)) {
      if (table === '') throw new TypeError('tables option must not name an empty table');
      tableTtls.set(table, parseDuration(ttl, `tables.${table}`));
    }
  }
  const maxEntryBytes = parseInteger(options.maxEntryBytes, 'maxEntryBytes', queryCacheDefaults.maxEntryBytes, 1);
  const backend = resolveBackend(options, 'query-cache');
  const generationTtlMs = 2 * Math.max(maxTtlMs, defaultTtlMs, ...tableTtls.values());
  return { backend, defaultTtlMs, tableTtls, maxEntryBytes, generationTtlMs };
}
