// The closed lists of reasons a cache event may carry: the only values the `reason` metric label can take.
import { isUnavailability } from '../redis/health';

/**
 * Why a lookup did not use the cache (`outcome: 'bypass'`; the origin ran). One spelling per condition,
 * the same in every cache. docs/observability.md documents each.
 */
export const bypassReasons = [
  /** Redis is down, slow or failing over (breaker open, timeout, connection lost). */
  'redis-unavailable',
  /** Redis answered the lookup with an error reply (OOM, WRONGTYPE, a script error). */
  'redis-error',
  /** An invalidation of this entry has not reached Redis yet; this process bypasses until it has. */
  'invalidation-pending',
  /** aiCache: the caller asked for it (the `bypass` call control). */
  'requested',
  /** responseCache: the request says `Cache-Control: no-store`. */
  'no-store',
  /** responseCache: the request carries `Authorization` and the route is neither per-user nor shareAuthorized. */
  'authorization',
  /** responseCache: the request carries a `Cookie` and the route is neither per-user nor ignoreCookies. */
  'cookie',
] as const;

/** Why a result was not stored (`outcome: 'skip'`). Same spellings as {@link bypassReasons} where the condition is the same. */
export const skipReasons = [
  'redis-unavailable',
  'redis-error',
  'invalidation-pending',
  /** An invalidation ran while the origin was computing; its older result is not put back. */
  'invalidated',
  /** Above the cache's size limit (`maxBodySize`, `maxSize`, `maxEntryBytes`). */
  'too-large',
  /** The value cannot be stored faithfully (aiCache, queryCache serializers). */
  'unserializable',
  /** aiCache: the inference failed (errors are not cached, unless `negativeTtl`). */
  'error',
  /** aiCache: the `shouldCache` option said no. */
  'should-cache',
  /** aiCache: a streamed result failed before its end. */
  'stream-failed',
  /** aiCache: every consumer of a streamed result stopped reading before its end. */
  'stream-abandoned',
  /** aiCache: a streamed result was not read for `lockTtl`. */
  'stream-idle',
  /** responseCache: a method other than GET (HEAD is served from GET entries). */
  'method',
  /** responseCache: a status never stored (1xx, 206, 304), or one without explicit freshness that is not in `statuses`. */
  'status',
  /** responseCache: the response sets a cookie. */
  'set-cookie',
  /** responseCache: response `Cache-Control: private`. */
  'private',
  /** responseCache: response `Cache-Control: no-store`. */
  'no-store',
  /** responseCache: response `Cache-Control: no-cache`. */
  'no-cache',
  /** responseCache: stale on arrival (RFC 9111 §4.2: an invalid or past s-maxage / max-age / Expires, an Age past the lifetime), or saying nothing under `ttl: 'response'`. */
  'not-fresh',
  /** responseCache: response `Vary: *`. */
  'vary',
  /** responseCache: an `Authorization` request whose response does not allow a shared cache (RFC 9111 §3.5). */
  'authorization',
  /** responseCache: the response echoes an unkeyed request header (cache poisoning attempt, or per-caller content). */
  'unkeyed-header',
  /** responseCache: the route's `tags()` function threw. */
  'tags-error',
  /** responseCache: the handler took longer than a fill may take. */
  'slow-handler',
] as const;

/** Why a stale entry was served (`outcome: 'stale'`). */
export const staleReasons = [
  /** Within the response's stale-while-revalidate: served while one request refreshes it. */
  'stale-while-revalidate',
  /** The handler failed and the entry is within stale-if-error. */
  'stale-if-error',
] as const;

/** One of {@link bypassReasons}. */
export type BypassReason = (typeof bypassReasons)[number];
/** One of {@link skipReasons}. */
export type SkipReason = (typeof skipReasons)[number];
/** One of {@link staleReasons}. */
export type StaleReason = (typeof staleReasons)[number];

/** A skip or bypass reason with the sentence that explains it in debug lines (never in a metric label). */
export interface Explained<R extends string> {
  reason: R;
  detail: string;
}

/** The reason for a failed Redis call: `redis-unavailable` when Redis is down, slow or failing over, else `redis-error`. */
export function redisFailureReason(error: unknown): 'redis-unavailable' | 'redis-error' {
  return isUnavailability(error) ? 'redis-unavailable' : 'redis-error';
}
