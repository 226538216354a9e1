// Lookup steps shared by the normal and the refresh flow: reading an entry, waiting for another fill, the lock's lifetime.
import { messageOf } from '../common/errors';
import { Lock } from '../redis';
import { debug, type RequestContext, type Shared, usability } from './context';
import { type CachedResponse, decodeEntry } from './entry';

/** How often a request waiting for another instance's fill looks in Redis (pub/sub usually wakes it sooner). */
const REMOTE_POLL_MS = 100;

/** Takes the fill lock of an entry (the shared lock; it lives as long as the wait it bounds, at least 1 s). */
export function takeFillLock(shared: Shared, lockKey: string): Promise<Lock | undefined> {
  return Lock.acquire(shared.config.backend, lockKey, { ttlMs: Math.max(shared.config.lockTimeoutMs, 1000) });
}

/** Reads and decodes an entry; a malformed one is a miss. */
export async function read(shared: Shared, key: string): Promise<CachedResponse | null> {
  return decode(key, await shared.config.backend.get(key));
}

/** Decodes an entry read from the backend; a malformed one is a miss. */
export async function decode(key: string, data: Buffer | null): Promise<CachedResponse | null> {
  if (!data) return null;
  try {
    return await decodeEntry(data);
  } catch (error) {
    debug('unreadable entry %s: %s', key, messageOf(error));
    return null;
  }
}

/**
 * Polls until the entry appears (fresh, and stored at `notBefore` or later), or the lock frees up
 * (then we take it), or time runs out.
 */
export async function waitForRemote(
  shared: Shared,
  ctx: RequestContext,
  lockKey: string,
  notBefore = 0,
): Promise<CachedResponse | Lock | undefined> {
  const { lockTimeoutMs } = shared.config;
  const deadline = Date.now() + lockTimeoutMs;
  try {
    for (let remaining = lockTimeoutMs; remaining > 0; remaining = deadline - Date.now()) {
      await shared.hub.waitForFill(ctx.key, Math.min(REMOTE_POLL_MS, remaining));
      const entry = await read(shared, ctx.key);
      if (entry && entry.storedAt >= notBefore && usability(entry, ctx) === 'fresh') return entry;
      const lock = await takeFillLock(shared, lockKey);
      if (lock) return lock;
    }
  } catch (error) {
    debug('waiting for %s failed: %s', ctx.key, messageOf(error));
  }
  return undefined;
}

/** The promise's value, or null when it takes longer than `ms`. */
export function within<T>(promise: Promise<T | null>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => resolve(null),
    );
  });
}
