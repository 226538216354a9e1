// A miss: runs the handler with its response held back, decides whether to store it, answers (200 or 304) and stores.
import { etag } from 'etag';
import type { Request, Response } from 'express';
import { messageOf } from '../common/errors';
import { emitEvent } from '../common/events';
import type { Lock } from '../redis';
import { ResponseCapture } from './capture';
import { debug, type RequestContext, type Shared } from './context';
import type { CachedResponse } from './entry';
import { entryKey, normaliseHeaderValue, parseVary } from './key';
import { pendingReason } from './pending';
import { finalHeadSkipReason, freshLifetimeMs, responseSkipReason } from './rules';
import { cacheControlFor, isNotModified, NOT_STORED_HEADERS, sendCached, toNotModified } from './serve';
import { abandonFill, startFill, store } from './store';

const CONDITIONAL_HEADERS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];

/**
 * Runs the route for a miss. The request's conditional headers are held back so the handler (and
 * Express's own `res.send` freshness check) produce the full response the cache can store; the cache
 * answers the condition itself.
 */
export function fill(ctx: RequestContext, shared: Shared, lock: Lock | undefined): void {
  const { req, res } = ctx;
  const conditional = { ...req.headers };
  // Headers set before the route ran (request ids, CORS by an outer middleware…) belong to this request, not the entry.
  const preset = new Map(Object.entries(res.getHeaders()).map(([name, value]) => [name, JSON.stringify(value)]));
  const restoreConditional = hideConditionalHeaders(req);
  let overflowed = false;
  const capture = new ResponseCapture(
    res,
    shared.config.maxBodySize,
    (body) => {
      restoreConditional();
      try {
        finish(ctx, shared, capture, body, conditional, preset, lock);
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
      skip(`body above maxBodySize (${shared.config.maxBodySize} bytes)`);
    },
  );
  const skip = (reason: string): void => {
    debug('not stored %s: %s', ctx.key, reason);
    emitEvent({ kind: 'cache', cache: 'api', outcome: 'skip', reason });
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

/**
 * Removes the request's conditional headers (so the handler, and Express's own freshness check in
 * `res.send`, produce the full response); returns the function that puts them back (idempotent).
 */
function hideConditionalHeaders(req: Request): () => void {
  const hidden: Array<[string, string | string[]]> = [];
  for (const name of CONDITIONAL_HEADERS) {
    const value = req.headers[name];
    if (value === undefined) continue;
    hidden.push([name, value]);
    delete req.headers[name];
  }
  return () => {
    for (const [name, value] of hidden.splice(0)) if (req.headers[name] === undefined) req.headers[name] = value;
  };
}

/** The handler ended: serve stale on error, add validators, answer, and store when the rules allow. */
function finish(
  ctx: RequestContext,
  shared: Shared,
  capture: ResponseCapture,
  body: Buffer,
  conditional: Request['headers'],
  preset: ReadonlyMap<string, string>,
  lock: Lock | undefined,
): void {
  const { req, res } = ctx;
  const { config } = shared;
  const perUser = config.user !== undefined && ctx.user !== undefined;
  if (res.statusCode >= 500 && ctx.stale && pendingReason(ctx.stale, shared.hub.scope) === undefined) {
    // stale-if-error (RFC 5861 §4): the handler failed; serve the entry we still have instead.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    capture.detach();
    debug('stale-if-error for %s (handler answered %d)', ctx.key, res.statusCode);
    emitEvent({ kind: 'cache', cache: 'api', outcome: 'stale', reason: 'stale-if-error' });
    sendCached(req, res, ctx.stale, 'STALE', perUser);
    done(ctx, shared, null, lock);
    return;
  }
  const success = res.statusCode >= 200 && res.statusCode < 300;
  if (success && res.statusCode !== 204) setStrongEtag(req, res, body);
  const vary = parseVary(res.getHeader('vary') as string | undefined);
  let reason = responseSkipReason(req, res, body, vary, config, ctx.user);
  const started = startFill(ctx, shared);
  const tags = Array.isArray(started.tags) ? started.tags : [];
  if (reason === undefined && !Array.isArray(started.tags)) reason = started.tags.error;
  const identity = { tags, path: ctx.base.invalidationPath, endpoint: ctx.base.endpoint };
  if (reason === undefined && shared.hub.invalidatedSince(ctx.seq, identity))
    reason = 'invalidated while the handler ran';
  reason ??= pendingReason(identity, shared.hub.scope);
  let entry: CachedResponse | null = null;
  let addedCacheControl: string | undefined;
  if (reason === undefined) {
    const ownCacheControl = res.getHeader('cache-control') !== undefined;
    const freshMs = freshLifetimeMs(res, config.ttlMs);
    const headers: CachedResponse['headers'] = [];
    for (const [name, value] of Object.entries(res.getHeaders())) {
      if (value === undefined || NOT_STORED_HEADERS.has(name) || (name === 'cache-control' && !ownCacheControl))
        continue;
      if (preset.get(name) === JSON.stringify(value)) continue;
      headers.push([name, Array.isArray(value) ? value.map(String) : String(value)]);
    }
    const varyValues: Record<string, string | null> = {};
    for (const name of vary) varyValues[name] = normaliseHeaderValue(req.headers[name]);
    entry = {
      status: res.statusCode,
      headers,
      body,
      etag: String(res.getHeader('etag') ?? etag(body)),
      ownCacheControl,
      vary,
      varyValues,
      storedAt: Date.now(),
      freshMs,
      swrMs: config.staleWhileRevalidateMs,
      sieMs: config.staleIfErrorMs,
      ...identity,
    };
    addedCacheControl = ownCacheControl ? undefined : cacheControlFor(freshMs, perUser);
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
    debug('not stored %s: %s', ctx.key, reason);
    emitEvent({ kind: 'cache', cache: 'api', outcome: 'skip', reason });
    done(ctx, shared, null, lock);
    return;
  }
  done(ctx, shared, entry, lock);
  const key = entryKey(ctx.base, req, vary);
  // The L1 gets the entry only once Redis committed it (store.ts): a refused store is never served from here.
  const stored = shared.storing.open(key);
  void (async () => {
    const generations = await startFill(ctx, shared).generations;
    if (generations) await store(ctx, shared, key, entry, generations);
    else debug('not stored %s: the generations could not be read before the handler ran', key);
  })().finally(() => {
    void lock?.release();
    stored(null);
  });
}

/** Replaces a missing ETag, or the weak one Express computed itself, by a strong one from the body. */
function setStrongEtag(req: Request, res: Response, body: Buffer): void {
  const current = res.getHeader('etag');
  const expressEtag = req.app?.get('etag fn') as ((body: Buffer, encoding?: string) => string) | undefined;
  if (current === undefined || (typeof expressEtag === 'function' && current === expressEtag(body))) {
    res.setHeader('ETag', etag(body));
  }
}

/** Settles the flight; without an entry to store, the lock and the generations the fill created are released at once. */
function done(ctx: RequestContext, shared: Shared, entry: CachedResponse | null, lock: Lock | undefined): void {
  ctx.settle(entry);
  if (entry === null) {
    void lock?.release();
    abandonFill(ctx, shared);
  }
}
