// The options of responseCache(), parsed once at factory time into an all-required config.
import type { Request } from 'express';
import { type Duration, describe, parseDuration, toMilliseconds } from '../common/duration';
import {
  assertKnownOptions,
  assertOptionsObject,
  type OptionDefaults,
  parseBoolean,
  parseFunction,
  parseInteger,
  parseName,
} from '../common/validate';
import type { Backend } from '../redis';
import { type RedisConnectionOptions, redisConnectionDefaults, resolveBackend } from '../redis';
import type { TtlRule } from './freshness';

/**
 * Statuses that may be stored on the route's ttl: 200 by default, the others when listed in `statuses`.
 * A response of any status whose own headers make it explicitly fresh is storable too (RFC 9111 §3).
 */
export const CACHEABLE_STATUSES = [200, 203, 204, 300, 301, 404, 410] as const;
export type CacheableStatus = (typeof CACHEABLE_STATUSES)[number];

/** Options of {@link responseCache}. */
export interface ResponseCacheOptions extends RedisConnectionOptions {
  /**
   * How long a stored response is fresh when its own headers say nothing, and the cap on the lifetime
   * its headers give (`s-maxage` > `max-age` > `Expires` − `Date`, minus `Age`: RFC 9111 §4.2).
   * `'response'` stores only what the response's own headers make fresh, for as long as they say
   * (the nginx/Varnish model, for routes that relay an upstream).
   * @default '5m'
   */
  ttl?: Duration | 'response';
  /**
   * What clients are told when the handler set no Cache-Control. Unset, they get `Cache-Control:
   * no-cache` with the ETag: they revalidate every time and get a cheap 304 from the cache, so an
   * invalidation reaches them at once. A duration sends `max-age=min(clientMaxAge, remaining)` instead:
   * browsers and CDNs may then reuse the response that long, out of reach of any invalidation.
   * A handler's own Cache-Control is always passed through unchanged.
   * @default none: clients are told `no-cache`
   */
  clientMaxAge?: Duration;
  /**
   * The endpoint part of the key (`api:{endpoint}:…`), also what `invalidate({ routes })` matches.
   * Defaults to the route pattern including the patterns of the routers it is mounted under
   * (`/users/:uid/items`), or the path when mounted with `app.use`. Set it when the mount pattern
   * cannot be found (Express 4; a warning says so).
   */
  name?: string;
  /**
   * Tags of a response, computed when it is stored; `cache.invalidate({ tags })` drops every response
   * with one of them, on every instance.
   * @default no tags
   */
  tags?: (req: Request) => readonly string[];
  /**
   * Per-user caching: returns the user the response is for (e.g. `req => req.session?.user?.id`). The
   * user becomes part of the key, so two users never share an entry, and requests carrying a Cookie or
   * Authorization become cacheable (per user). Return `undefined` for anonymous requests.
   * @default not per-user
   */
  user?: (req: Request) => string | number | null | undefined;
  /**
   * Statuses that may be stored, among 200, 203, 204, 300, 301, 404 and 410.
   * @default [200]
   */
  statuses?: readonly CacheableStatus[];
  /**
   * Declares that this route's response does not depend on cookies, so requests carrying a `Cookie`
   * header are served from and stored in the shared entry. When false (and the route is not per-user),
   * such requests bypass the cache: their response may be about who is asking (web cache deception).
   * @default false
   */
  ignoreCookies?: boolean;
  /**
   * Lets responses to requests carrying `Authorization` be stored, only when the response allows it
   * (`public`, `s-maxage` or `must-revalidate`, RFC 9111 §3.5). They are kept apart from anonymous entries.
   * @default false
   */
  shareAuthorized?: boolean;
  /**
   * Serve a stale entry for this long after it expires while one request refreshes it (RFC 5861).
   * @default 0 (off)
   */
  staleWhileRevalidate?: Duration;
  /**
   * Serve a stale entry for this long after it expires when the handler fails (5xx or an error) (RFC 5861).
   * @default 0 (off)
   */
  staleIfError?: Duration;
  /**
   * Bodies larger than this (bytes) are not stored.
   * @default 1048576 (1 MiB)
   */
  maxBodySize?: number;
  /**
   * Bodies larger than this (bytes) are stored gzip-compressed.
   * @default 1024
   */
  compressAbove?: number;
  /**
   * Run the handler once for concurrent misses of one key: in this process, and across instances
   * through a short Redis lock.
   * @default true
   */
  singleFlight?: boolean;
  /**
   * Longest a request waits for another request (or instance) filling the same key, before it runs
   * the handler itself.
   * @default '3s'
   */
  lockTimeout?: Duration;
  /**
   * How long an entry is kept in this process's memory (an L1 in front of Redis, kept coherent by
   * pub/sub invalidation). 0 turns the L1 off.
   * @default '2s'
   */
  localTtl?: Duration;
  /**
   * Most entries the L1 holds.
   * @default 1000
   */
  localMaxEntries?: number;
  /**
   * Invalidate the cached responses of a path after a successful POST/PUT/PATCH/DELETE to it that
   * passes through this middleware (RFC 9111 §4.4).
   * @default true
   */
  invalidateOnWrite?: boolean;
}

/** Every option of {@link responseCache} with its default (`undefined`: none). */
export const responseCacheDefaults = {
  ...redisConnectionDefaults,
  ttl: '5m',
  clientMaxAge: undefined,
  name: undefined,
  tags: undefined,
  user: undefined,
  statuses: [200],
  ignoreCookies: false,
  shareAuthorized: false,
  staleWhileRevalidate: 0,
  staleIfError: 0,
  maxBodySize: 1024 * 1024,
  compressAbove: 1024,
  singleFlight: true,
  lockTimeout: '3s',
  localTtl: '2s',
  localMaxEntries: 1000,
  invalidateOnWrite: true,
} as const satisfies OptionDefaults<ResponseCacheOptions>;

/** The parsed, all-required config. */
export interface ResponseCacheConfig {
  backend: Backend;
  ttl: TtlRule;
  /** Longest max-age clients are told, or undefined for `no-cache`. */
  clientMaxAgeMs: number | undefined;
  name: string | undefined;
  tags: ((req: Request) => readonly string[]) | undefined;
  user: ((req: Request) => string | number | null | undefined) | undefined;
  statuses: ReadonlySet<number>;
  ignoreCookies: boolean;
  shareAuthorized: boolean;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  maxBodySize: number;
  compressAbove: number;
  singleFlight: boolean;
  lockTimeoutMs: number;
  localTtlMs: number;
  localMaxEntries: number;
  invalidateOnWrite: boolean;
}

/** Validates the options and builds the config; throws a TypeError naming the first bad option. */
export function parseOptions(options: ResponseCacheOptions | undefined): ResponseCacheConfig {
  const raw = options ?? {};
  assertOptionsObject(raw, 'responseCache');
  assertKnownOptions(raw, responseCacheDefaults);
  return {
    backend: resolveBackend(raw, 'response-cache'),
    ttl: parseTtl(raw.ttl),
    clientMaxAgeMs:
      raw.clientMaxAge === undefined ? undefined : parseDuration(raw.clientMaxAge, 'clientMaxAge', { minMs: 0 }),
    name: raw.name === undefined ? undefined : parseName(raw.name, 'name'),
    tags: parseFunction(raw.tags, 'tags'),
    user: parseFunction(raw.user, 'user'),
    statuses: parseStatuses(raw.statuses),
    ignoreCookies: parseBoolean(raw.ignoreCookies, 'ignoreCookies', responseCacheDefaults.ignoreCookies),
    shareAuthorized: parseBoolean(raw.shareAuthorized, 'shareAuthorized', responseCacheDefaults.shareAuthorized),
    staleWhileRevalidateMs: parseDuration(
      raw.staleWhileRevalidate ?? responseCacheDefaults.staleWhileRevalidate,
      'staleWhileRevalidate',
      { minMs: 0 },
    ),
    staleIfErrorMs: parseDuration(raw.staleIfError ?? responseCacheDefaults.staleIfError, 'staleIfError', { minMs: 0 }),
    maxBodySize: parseInteger(raw.maxBodySize, 'maxBodySize', responseCacheDefaults.maxBodySize, 0),
    compressAbove: parseInteger(raw.compressAbove, 'compressAbove', responseCacheDefaults.compressAbove, 0),
    singleFlight: parseBoolean(raw.singleFlight, 'singleFlight', responseCacheDefaults.singleFlight),
    lockTimeoutMs: parseDuration(raw.lockTimeout ?? responseCacheDefaults.lockTimeout, 'lockTimeout', { minMs: 0 }),
    localTtlMs: parseDuration(raw.localTtl ?? responseCacheDefaults.localTtl, 'localTtl', { minMs: 0 }),
    localMaxEntries: parseInteger(raw.localMaxEntries, 'localMaxEntries', responseCacheDefaults.localMaxEntries, 1),
    invalidateOnWrite: parseBoolean(
      raw.invalidateOnWrite,
      'invalidateOnWrite',
      responseCacheDefaults.invalidateOnWrite,
    ),
  };
}

function parseTtl(value: unknown): TtlRule {
  if (value === 'response') return { kind: 'response' };
  const ms = toMilliseconds(value ?? responseCacheDefaults.ttl);
  if (ms === undefined || ms < 1000) {
    throw new TypeError(
      `ttl option must be a duration such as '90s', '5m', '1h', '1d' or a number of ms (at least 1000 ms), ` +
        `or 'response' (store only what the response's own headers make fresh); received ${describe(value)}`,
    );
  }
  return { kind: 'ttl', ms };
}

function parseStatuses(value: unknown): ReadonlySet<number> {
  if (value === undefined) return new Set(responseCacheDefaults.statuses);
  const allowed: readonly number[] = CACHEABLE_STATUSES;
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => allowed.includes(s as number))) {
    throw new TypeError(`statuses option must be a non-empty array of ${allowed.join(', ')}`);
  }
  return new Set(value as number[]);
}
