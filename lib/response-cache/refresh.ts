// A request's Cache-Control: no-cache / max-age=0: a new handler run, shared by every concurrent refresher of the key.
import { messageOf } from '../common/errors';
import { emitEvent } from '../common/events';
import { redisFailureReason } from '../common/reasons';
import { Lock } from '../redis';
import { bypass, debug, type RequestContext, type Shared, usability } from './context';
import type { CachedResponse } from './entry';
import { fill } from './fill';
import { lockKeyOf } from './key';
import { takeFillLock, waitForRemote, within } from './lookup';
import { pendingReason } from './pending';
import { type Downstream, sendCached } from './serve';
import { abandonFill, startFill } from './store';

/**
 * Refreshes the entry for a request that must not be served a stored response (RFC 9111 §5.2.1.4).
 * It is never served an entry stored before it arrived; but concurrent refreshers, here and on other
 * instances, share one handler run (the in-process flight, then the Redis fill lock), so no client
 * header can make the handler run more than once at a time per key.
 */
export async function refresh(shared: Shared, ctx: RequestContext, downstream: Downstream): Promise<void> {
  const { config, flights, refreshes } = shared;
  const { req, res, next, key } = ctx;
  const arrival = Date.now();
  const serve = (entry: CachedResponse): void => {
    const pending = pendingReason(entry, shared.hub.scope);
    if (pending !== undefined) {
      bypass(res, next, 'invalidation-pending', pending);
      return;
    }
    debug('refresh %s: served the entry another refresher just filled', key);
    emitEvent({ kind: 'cache', cache: 'api', outcome: 'hit' });
    sendCached(req, res, entry, 'HIT', downstream);
  };
  const current = (entry: CachedResponse | null): entry is CachedResponse =>
    entry !== null && entry.storedAt >= arrival && usability(entry, ctx) === 'fresh';
  if (!config.singleFlight) return fill(ctx, shared, undefined);

  // A handler run of this process for the key is under way: its response is as new as ours would be.
  const pending = flights.get(key) ?? refreshes.get(key);
  if (pending) {
    const filled = await within(pending, config.lockTimeoutMs);
    if (current(filled)) return serve(filled);
    return fill(ctx, shared, undefined);
  }
  ctx.settle = refreshes.open(key);

  const lockKey = lockKeyOf(key);
  startFill(ctx, shared); // in parallel with the lock: the generations are read before any handler runs
  let lock: Lock | undefined;
  try {
    lock = await takeFillLock(shared, lockKey);
  } catch (error) {
    ctx.settle(null);
    abandonFill(ctx, shared);
    return bypass(res, next, redisFailureReason(error), `Redis failed: ${messageOf(error)}`);
  }
  if (lock) return fill(ctx, shared, lock);
  // Another instance is running the handler for the key: use what it stores (if it is newer than us).
  const remote = await waitForRemote(shared, ctx, lockKey, arrival);
  if (remote instanceof Lock) return fill(ctx, shared, remote);
  if (remote) {
    ctx.settle(remote);
    return serve(remote);
  }
  return fill(ctx, shared, undefined);
}
