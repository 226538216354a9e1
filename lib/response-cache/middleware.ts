// The request flow: bypass rules, key, local copy, in-process and cross-instance single flight, Redis lookup, fill.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { messageOf } from '../common/errors';
import { emitEvent } from '../common/events';
import { redisFailureReason } from '../common/reasons';
import { Lock } from '../redis';
import { bypass, debug, type RequestContext, type Shared, usability } from './context';
import type { CachedResponse } from './entry';
import { fill } from './fill';
import { endpointOf, entryKey, keyBaseOf, lockKeyOf, varySpecKey } from './key';
import { decode, read, takeFillLock, waitForRemote, within } from './lookup';
import { anyPending, pendingReason } from './pending';
import { refresh } from './refresh';
import { requestPolicy } from './rules';
import { type Downstream, downstreamOf, sendCached } from './serve';
import { abandonFill, identityOf, startFill } from './store';
import { watchUnsafeRequest } from './write-invalidation';

/** Builds the middleware function over the shared state of one responseCache(). */
export function createHandler(shared: Shared): RequestHandler {
  const { config, hub } = shared;
  return function responseCacheMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (config.invalidateOnWrite) watchUnsafeRequest(req, res, hub);
      next();
      return;
    }
    handle(shared, req, res, next).catch((error: unknown) => {
      debug('error before the route ran: %s', messageOf(error));
      if (!res.headersSent) next(error);
    });
  };
}

/** The settle of a request that opened no flight. */
const NO_SETTLE = (): void => {};

/** Serves an entry, unless an invalidation of its own targets (another instance's tags() may have said more than ours) is pending. */
function serveEntry(
  shared: Shared,
  { req, res, next }: RequestContext,
  downstream: Downstream,
  entry: CachedResponse,
  state: 'HIT' | 'STALE',
): void {
  const reason = pendingReason(entry, shared.hub.scope);
  if (reason !== undefined) {
    bypass(res, next, 'invalidation-pending', reason);
    return;
  }
  emitEvent({ kind: 'cache', cache: 'api', outcome: state === 'HIT' ? 'hit' : 'stale' });
  sendCached(req, res, entry, state, downstream);
}

function userOf(req: Request, shared: Shared): string | undefined {
  const value = shared.config.user?.(req);
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

async function handle(shared: Shared, req: Request, res: Response, next: NextFunction): Promise<void> {
  const { config, hub, local, flights } = shared;
  hub.ensureSubscribed();
  const user = userOf(req, shared);
  const policy = requestPolicy(req, config, user);
  if (policy.bypass) return bypass(res, next, policy.reason, policy.detail);
  if (config.backend.isDown())
    return bypass(res, next, 'redis-unavailable', 'Redis is unavailable (recent timeout or reconnecting)');
  const endpoint = endpointOf(req, config.name);
  const base = keyBaseOf(req, endpoint, user);
  let vary = hub.varySpecs.known(endpoint);
  /** The entry read together with the vary spec (for the key without Vary headers), if that is our key. */
  let prefetched: Buffer | null | undefined;
  if (vary === undefined) {
    // A new endpoint for this process: its vary spec and the entry it most likely keys, in one MGET (one slot).
    try {
      const [spec, data] = await config.backend.mget(varySpecKey(endpoint), entryKey(base, req, []));
      vary = hub.varySpecs.remember(endpoint, spec ?? null);
      if (vary.length === 0) prefetched = data ?? null;
    } catch (error) {
      return bypass(res, next, redisFailureReason(error), `Redis failed: ${messageOf(error)}`);
    }
  }
  let key = entryKey(base, req, vary);
  const storing = shared.storing.get(key);
  if (storing) {
    // This process is storing a new response of the key: wait (bounded) so the older copy is not served
    // meanwhile; the store may have taught us that the endpoint varies, which changes the key.
    await within(storing, config.lockTimeoutMs);
    vary = hub.varySpecs.known(endpoint) ?? vary;
    key = entryKey(base, req, vary);
    prefetched = undefined; // read before the store committed
  }
  const ctx: RequestContext = {
    req,
    res,
    next,
    base,
    key,
    user,
    policy,
    stale: undefined,
    seq: hub.seq,
    settle: NO_SETTLE,
  };
  const downstream = downstreamOf(config, user);
  if (anyPending()) {
    // An invalidation of this request's route, path or tags has not reached Redis: do not serve nor store.
    const reason = pendingReason(identityOf(ctx, shared), shared.hub.scope);
    if (reason !== undefined) return bypass(res, next, 'invalidation-pending', reason);
  }

  if (policy.refresh) {
    debug('refresh %s: request Cache-Control asks for a fresh response', key);
    return refresh(shared, ctx, downstream);
  }
  // After waiting for this process's own store, read Redis, not the L1: this request resumes right after the
  // store's last reply, maybe before this process read an invalidation message Redis sent before it.
  const localEntry = storing ? undefined : local.get(key);
  if (localEntry && usability(localEntry, ctx) === 'fresh')
    return serveEntry(shared, ctx, downstream, localEntry, 'HIT');

  const pending = config.singleFlight ? flights.get(key) : undefined;
  if (pending) {
    // Another request of this process is filling the key: wait for it (bounded), then use its result.
    const filled = await within(pending, config.lockTimeoutMs);
    const state = filled ? usability(filled, ctx) : 'unusable';
    if (filled && state === 'fresh') return serveEntry(shared, ctx, downstream, filled, 'HIT');
    if (filled && state === 'revalidate') return serveEntry(shared, ctx, downstream, filled, 'STALE');
    return fill(ctx, shared, undefined);
  }

  const settle: (entry: CachedResponse | null) => void = config.singleFlight ? flights.open(key) : NO_SETTLE;
  ctx.settle = settle;

  let stored: CachedResponse | null;
  try {
    stored = prefetched === undefined ? await read(shared, key) : await decode(key, prefetched);
  } catch (error) {
    settle(null);
    return bypass(res, next, redisFailureReason(error), `Redis failed: ${messageOf(error)}`);
  }
  const state = stored ? usability(stored, ctx) : 'unusable';
  if (stored && state === 'fresh') {
    if (pendingReason(stored, shared.hub.scope) === undefined) local.set(key, stored, ctx.seq);
    settle(stored);
    return serveEntry(shared, ctx, downstream, stored, 'HIT');
  }
  if (stored && (state === 'revalidate' || state === 'if-error' || state === 'validatable')) ctx.stale = stored;
  if (!config.singleFlight) return fill(ctx, shared, undefined);

  const lockKey = lockKeyOf(key);
  startFill(ctx, shared); // in parallel with the lock: the generations are read before any handler runs
  let lock: Lock | undefined;
  try {
    lock = await takeFillLock(shared, lockKey);
  } catch (error) {
    settle(null);
    abandonFill(ctx, shared);
    return bypass(res, next, redisFailureReason(error), `Redis failed: ${messageOf(error)}`);
  }
  if (lock) {
    // This request refreshes; with stale-while-revalidate the others of this process get the stale entry meanwhile.
    if (stored && state === 'revalidate') settle(stored);
    return fill(ctx, shared, lock);
  }
  if (stored && state === 'revalidate') {
    // stale-while-revalidate (RFC 5861 §3): another request (maybe on another instance) is refreshing it.
    settle(stored);
    return serveEntry(shared, ctx, downstream, stored, 'STALE');
  }
  // Another instance is filling the key: wait for its entry (pub/sub wake or polling), bounded.
  const remote = await waitForRemote(shared, ctx, lockKey);
  if (remote instanceof Lock) return fill(ctx, shared, remote);
  if (remote) {
    if (pendingReason(remote, shared.hub.scope) === undefined) local.set(key, remote, ctx.seq);
    settle(remote);
    return serveEntry(shared, ctx, downstream, remote, 'HIT');
  }
  debug('gave up waiting for another instance to fill %s', key);
  return fill(ctx, shared, undefined);
}
