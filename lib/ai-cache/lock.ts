// aiCache's use of the shared lock: one lock per entry, announced on release, and the waiters it wakes.

import { debugFor } from '../common/log';
import { KeyWaiters } from '../common/waiters';
import { type Backend, Lock } from '../redis';
import { lockKey, RELEASE_CHANNEL } from './keying';

const debug = debugFor('ai-cache');

/**
 * Takes the inference lock of `entryKey` (renewed for `maxHoldMs`, its release announced so waiters on
 * every instance wake); undefined when another call holds it. Rejects when Redis fails.
 */
export function acquireInferenceLock(
  backend: Backend,
  entryKey: string,
  ttlMs: number,
  maxHoldMs: number,
): Promise<Lock | undefined> {
  return Lock.acquire(backend, lockKey(entryKey), {
    ttlMs,
    renewForMs: maxHoldMs,
    announce: { channel: RELEASE_CHANNEL, message: entryKey },
  });
}

/** Wakes the callers of this process that wait on another process's inference. One subscription per backend. */
class ReleaseListener {
  private readonly waiters = new KeyWaiters();
  private subscribed: Promise<unknown> | undefined;

  constructor(private readonly backend: Backend) {}

  /**
   * Resolves when the holder of `entryKey` announces its release, or after `ms` (then the caller looks
   * again by itself: the announcement may have been missed, or the holder may have crashed).
   */
  wait(entryKey: string, ms: number): Promise<void> {
    this.ensureSubscribed();
    return this.waiters.wait(entryKey, ms);
  }

  /** How many callers of this process wait on another process's inference of `entryKey` right now. */
  waitingOn(entryKey: string): number {
    return this.waiters.count(entryKey);
  }

  private ensureSubscribed(): void {
    if (this.subscribed) return;
    this.subscribed = this.backend
      .subscribe(RELEASE_CHANNEL, (key) => this.waiters.wake(key))
      .catch((error: unknown) => {
        debug('cannot subscribe to %s, waiters poll instead: %s', RELEASE_CHANNEL, error);
        this.subscribed = undefined;
      });
  }
}

const listeners = new WeakMap<Backend, ReleaseListener>();

/** The release listener of a backend, created on first wait. */
export function releaseListenerFor(backend: Backend): ReleaseListener {
  let listener = listeners.get(backend);
  if (!listener) {
    listener = new ReleaseListener(backend);
    listeners.set(backend, listener);
  }
  return listener;
}
