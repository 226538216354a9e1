// A miss: runs the handler with its response held back, decides whether to store it, answers (200 or 304) and stores.
import type { Request } from 'express';
import { messageOf } from '../common/errors';
import { emitEvent } from '../common/events';
import type { Explained, SkipReason } from '../common/reasons';
import type { Lock } from '../redis';
import { ResponseCapture } from './capture';
import { debug, type RequestContext, type Shared } from './context';
import { type CachedResponse, currentAgeMs } from './entry';
import { entryKey, parseVary } from './key';
import { pendingReason } from './pending';
import { recordEntry, setStrongEtag } from './record';
import { conditionForHandler, updateFrom304 } from './revalidate';
import { finalHeadSkipReason, storability } from './rules';
import { cacheControlFor, downstreamOf, isNotModified, sendCached, toNotModified } from './serve';
import { abandonFill, startFill, store } from './store';

/**
 * Runs the route for a miss. The request's conditional headers are held back so the handler (and
 * Express's own `res.send` freshness check) produce the full response the cache can store; the cache
 * answers the condition itself.
 */
export function fill(ctx: RequestContext, shared: Shared, lock: Lock | undefined): void {
  const { req, res } = ctx;
  const conditional = { ...req.headers };
  const requestedAt = Date.now();
  // Headers set before the route ran (request ids, CORS by an outer middleware…) belong to this request, not the entry.
  const preset = new Map(Object.entries(res.getHeaders()).map(([name, value]) => [name, JSON.stringify(value)]));
  const { validated, restore: restoreRequest } = conditionForHandler(req, ctx.stale);
  // A HEAD miss runs the route as a GET (as nginx does): the entry it stores serves both, with one ETag.
  const head = req.method === 'HEAD';
  if (head) req.method = 'GET';
  const restoreConditional = (): void => {
    restoreRequest();
    if (head) req.method = 'HEAD';
  };
  let overflowed = false;
  const capture = new ResponseCapture(
    res,
    shared.config.maxBodySize,
    (body) => {
      restoreConditional();
      try {
        finish(ctx, shared, capture, body, { conditional, preset, requestedAt, validated }, lock);
      } catch (error) {
        debug('could not finish %s: %s', ctx.key, messageOf(error));
        if (!capture.isReleased) capture.release(body);
        done(ctx, shared, null, lock);
      }
    },
    () => {
      restoreConditional();
      overflowed = true;
      res.setHeader('X-Cache', 'MISS');
      skip({ reason: 'too-large', detail: `body above maxBodySize (${shared.config.maxBodySize} bytes)` });
    },
  );
  const skip = ({ reason, detail }: Explained<SkipReason>): void => {
    debug('not stored %s: %s (%s)', ctx.key, reason, detail);
    emitEvent({ kind: 'cache', cache: 'api', outcome: 'skip', reason, detail });
    done(ctx, shared, null, lock);
  };
  res.once('close', () => {
    restoreConditional();
    if (!capture.isReleased && !overflowed) done(ctx, shared, null, lock);
  });
  emitEvent({ kind: 'cache', cache: 'api', outcome: 'miss' });
  // The generations must be read before the handler reads its data (see store.ts).
  void startFill(ctx, shared).generations.then(() => ctx.next());
}

/** What the fill knew before the handler ran. */
interface Before {
  /** The request headers, conditional ones included (the handler did not see those). */
  conditional: Request['headers'];
  /** Headers set on the response before the route ran (JSON of each value). */
  preset: ReadonlyMap<string, string>;
  /** When the handler started (RFC 9111 §4.2.3 request_time). */
  requestedAt: number;
  /** Whether the handler was sent the stale entry's validators. */
  validated: boolean;
}

/** The handler ended: serve stale on error, add validators, answer, and store when the rules allow. */
function finish(
  ctx: RequestContext,
  shared: Shared,
  capture: ResponseCapture,
  body: Buffer,
  { conditional, preset, requestedAt, validated }: Before,
  lock: Lock | undefined,
): void {
  const { req, res } = ctx;
  const { config } = shared;
  const downstream = downstreamOf(config, ctx.user);
  const stale = ctx.stale !== undefined && pendingReason(ctx.stale, shared.hub.scope) === undefined;
  if (stale && validated && res.statusCode === 304 && ctx.stale) {
    // The handler says the stale entry is still good: serve it with the 304's headers, and store it renewed.
    const { entry, skip } = updateFrom304(ctx.stale, res.getHeaders(), config, requestedAt);
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    capture.detach();
    debug('revalidated %s', ctx.key);
    sendCached(req, res, entry, 'REVALIDATED', downstream);
    if (skip !== undefined) {
      debug('not stored %s: %s (%s)', ctx.key, skip.reason, skip.detail);
      emitEvent({ kind: 'cache', cache: 'api', outcome: 'skip', ...skip });
      done(ctx, shared, null, lock);
    } else storeAfterAnswer(ctx, shared, entry, lock);
    return;
  }
  const ageMs = ctx.stale === undefined ? 0 : currentAgeMs(ctx.stale, Date.now());
  if (res.statusCode >= 500 && stale && ctx.stale && ageMs < ctx.stale.freshMs + ctx.stale.sieMs) {
    // stale-if-error (RFC 5861 §4): the handler failed; serve the entry we still have instead.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    capture.detach();
    debug('stale-if-error for %s (handler answered %d)', ctx.key, res.statusCode);
    emitEvent({ kind: 'cache', cache: 'api', outcome: 'stale', reason: 'stale-if-error' });
    sendCached(req, res, ctx.stale, 'STALE', downstream);
    done(ctx, shared, null, lock);
    return;
  }
  const success = res.statusCode >= 200 && res.statusCode < 300;
  const ownEtag = !(success && res.statusCode !== 204) || setStrongEtag(req, res, body);
  const vary = parseVary(res.getHeader('vary') as string | undefined);
  const storable = storability(req, res, body, vary, config, ctx.user, requestedAt);
  let reason: Explained<SkipReason> | undefined = 'reason' in storable ? storable : undefined;
  const started = startFill(ctx, shared);
  const tags = Array.isArray(started.tags) ? started.tags : [];
  if (reason === undefined && !Array.isArray(started.tags)) {
    reason = { reason: 'tags-error', detail: started.tags.error };
  }
  const identity = { tags, path: ctx.base.invalidationPath, endpoint: ctx.base.endpoint };
  if (reason === undefined && shared.hub.invalidatedSince(ctx.seq, identity)) {
    reason = { reason: 'invalidated', detail: 'invalidated while the handler ran' };
  }
  if (reason === undefined) {
    const pending = pendingReason(identity, shared.hub.scope);
    if (pending !== undefined) reason = { reason: 'invalidation-pending', detail: pending };
  }
  let entry: CachedResponse | null = null;
  let addedCacheControl: string | undefined;
  if (reason === undefined && !('reason' in storable)) {
    entry = recordEntry(req, res, body, config, { preset, vary, storable, ownEtag, identity });
    const remainingMs = storable.lifetimeMs - storable.ageMs;
    addedCacheControl = entry.ownCacheControl
      ? undefined
      : cacheControlFor(remainingMs, downstream.perUser, downstream.clientMaxAgeMs);
    if (addedCacheControl !== undefined) res.setHeader('Cache-Control', addedCacheControl);
  }
  res.setHeader('X-Cache', 'MISS');
  const lastModified = res.getHeader('last-modified');
  const etagValue = res.getHeader('etag');
  const notModified = isNotModified(
    conditional,
    res.statusCode,
    typeof etagValue === 'string' ? etagValue : undefined,
    typeof lastModified === 'string' ? lastModified : undefined,
  );
  if (notModified) toNotModified(res);
  // Outer middleware may still add headers when the head is written (express-session's Set-Cookie):
  // storability is decided again on the final head, before it goes out and before anything is stored.
  const recheck = (): void => {
    const late = entry === null ? undefined : finalHeadSkipReason(res, addedCacheControl);
    if (late === undefined) return;
    if (addedCacheControl !== undefined && res.getHeader('cache-control') === addedCacheControl && !res.headersSent) {
      res.removeHeader('cache-control');
    }
    entry = null;
    reason = late;
  };
  capture.release(notModified ? undefined : body, recheck);
  recheck(); // after release too: the safety net when the head hook could not run
  if (entry === null) {
    const why = reason ?? { reason: 'invalidated', detail: 'dropped before it was stored' };
    debug('not stored %s: %s (%s)', ctx.key, why.reason, why.detail);
    emitEvent({ kind: 'cache', cache: 'api', outcome: 'skip', reason: why.reason, detail: why.detail });
    done(ctx, shared, null, lock);
    return;
  }
  storeAfterAnswer(ctx, shared, entry, lock);
}

/** Settles the flight with the entry and stores it; the L1 gets it only once Redis committed it (store.ts). */
function storeAfterAnswer(ctx: RequestContext, shared: Shared, entry: CachedResponse, lock: Lock | undefined): void {
  done(ctx, shared, entry, lock);
  const key = entryKey(ctx.base, ctx.req, entry.vary);
  const stored = shared.storing.open(key);
  // A lookup that does not know the endpoint varies yet keys without Vary headers: it waits for this store too.
  const unvaried = entry.vary.length > 0 ? shared.storing.open(entryKey(ctx.base, ctx.req, [])) : undefined;
  void (async () => {
    const generations = await startFill(ctx, shared).generations;
    if (generations) await store(ctx, shared, key, entry, generations);
    else debug('not stored %s: the generations could not be read before the handler ran', key);
  })().finally(() => {
    void lock?.release();
    stored(null);
    unvaried?.(null);
  });
}

/** Settles the flight; without an entry to store, the lock and the generations the fill created are released at once. */
function done(ctx: RequestContext, shared: Shared, entry: CachedResponse | null, lock: Lock | undefined): void {
  ctx.settle(entry);
  if (entry === null) {
    void lock?.release();
    abandonFill(ctx, shared);
  }
}
