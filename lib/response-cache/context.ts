// Per-request state shared by the lookup and fill steps, and the small helpers both use.
import type { NextFunction, Request, Response } from 'express';
import { emitEvent } from '../common/events';
import type { Flights } from '../common/flights';
import { debugFor } from '../common/log';
import type { BypassReason } from '../common/reasons';
import { type CachedResponse, currentAgeMs, hasValidators } from './entry';
import type { CacheHub } from './hub';
import { type KeyBase, normaliseHeaderValue } from './key';
import type { LocalCache } from './local';
import type { ResponseCacheConfig } from './options';
import type { RequestPolicy } from './rules';
import type { FillStart } from './store';

export const debug = debugFor('response-cache');

/** Everything one middleware instance shares between requests. */
export interface Shared {
  config: ResponseCacheConfig;
  hub: CacheHub;
  local: LocalCache;
  /** In-process single flight: key → the entry its leader produced (or null). */
  flights: Flights<Promise<CachedResponse | null>>;
  /** In-process refreshes (request `no-cache`): key → the entry the refreshing handler run produced (or null). */
  refreshes: Flights<Promise<CachedResponse | null>>;
  /**
   * Stores under way in this process: entry key → settles when Redis committed (or refused) the entry.
   * A lookup of such a key waits for it, so it is served the new entry (from the L1, once committed)
   * rather than the older one, and never one Redis refused.
   */
  storing: Flights<Promise<null>>;
}

/** One request on its way through the cache. */
export interface RequestContext {
  req: Request;
  res: Response;
  next: NextFunction;
  base: KeyBase;
  key: string;
  user: string | undefined;
  policy: Extract<RequestPolicy, { bypass: false }>;
  /** An expired entry: usable if the handler fails (stale-if-error), or renewed by the handler's 304. */
  stale: CachedResponse | undefined;
  /** The hub's invalidation counter when the lookup started (stale-set race check). */
  seq: number;
  /** The route's tags for this request, once computed (see `tagsOf` in store.ts). */
  tags?: FillStart['tags'];
  /** The tags and generations read before the handler ran (set once a fill starts; see store.ts). */
  fillStart?: FillStart;
  /** Settles this request's in-process flight (followers then use the result). */
  settle(entry: CachedResponse | null): void;
}

/**
 * How usable an entry is for a request right now: fresh; stale but servable while one request
 * refreshes it (stale-while-revalidate) or if the handler fails (stale-if-error); stale with
 * validators (a conditional request to the handler may renew it); or not at all.
 */
export type Usability = 'fresh' | 'revalidate' | 'if-error' | 'validatable' | 'unusable';

/** Classifies an entry by age (RFC 9111 §4.2, RFC 5861) and by the request's Vary header values. */
export function usability(
  entry: CachedResponse,
  ctx: Pick<RequestContext, 'req' | 'policy'>,
  now = Date.now(),
): Usability {
  for (const name of entry.vary) {
    if ((entry.varyValues[name] ?? null) !== normaliseHeaderValue(ctx.req.headers[name])) return 'unusable';
  }
  const age = currentAgeMs(entry, now);
  if (ctx.policy.maxAgeMs !== undefined && age > ctx.policy.maxAgeMs) return 'unusable';
  if (age < entry.freshMs) return 'fresh';
  if (age < entry.freshMs + entry.swrMs) return 'revalidate';
  if (age < entry.freshMs + entry.sieMs) return 'if-error';
  return hasValidators(entry) ? 'validatable' : 'unusable';
}

/** Marks the response as not using the cache and hands over to the route; `detail` goes to debug lines only. */
export function bypass(res: Response, next: NextFunction, reason: BypassReason, detail: string): void {
  debug('bypass %s %s: %s (%s)', res.req.method, res.req.originalUrl, reason, detail);
  if (!res.headersSent) res.setHeader('X-Cache', 'BYPASS');
  emitEvent({ kind: 'cache', cache: 'api', outcome: 'bypass', reason, detail });
  next();
}
