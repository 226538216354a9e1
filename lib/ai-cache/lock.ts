// The cross-process inference lock: SET NX PX to take it, token-checked Lua to renew and to release (and announce).
import { randomBytes } from 'node:crypto';
import { debugFor } from '../common/log';
import { type Backend, defineScript } from '../redis';
import { lockKey, RELEASE_CHANNEL } from './keying';

const debug = debugFor('ai-cache');

/**
 * KEYS[1] = lock key, ARGV[1] = channel, ARGV[2] = message (the entry key), ARGV[3..] = holder tokens.
 * Deletes the lock only if it holds one of these tokens, and then publishes the release, so waiters on
 * every instance are woken in the same round trip. Returns 1 when it deleted the lock. (The memory twin
 * cannot reach the memory backend's channels: there the caller publishes.)
 */
export const RELEASE_LOCK = defineScript<number>({
  name: 'rmwAiReleaseLock',
  lua: `local held = redis.call('GET', KEYS[1])
if not held then return 0 end
for i = 3, #ARGV do
  if held == ARGV[i] then
    redis.call('DEL', KEYS[1])
    redis.call('PUBLISH', ARGV[1], ARGV[2])
    return 1
  end
end
return 0`,
  memory(store, [key], [, , ...tokens]) {
    const held = store.get(key as string);
    if (held === undefined || !tokens.includes(String(held))) return 0;
    store.delete(key as string);
    return 1;
  },
});

/** Deletes the lock at `key` if it holds one of `tokens` and wakes the waiters; true when it did. */
async function releaseIfHeld(backend: Backend, entryKey: string, tokens: string[]): Promise<boolean> {
  const deleted = await backend.run(RELEASE_LOCK, [lockKey(entryKey)], [RELEASE_CHANNEL, entryKey, ...tokens]);
  if (deleted === 1 && backend.kind === 'memory') {
    await backend.publish(RELEASE_CHANNEL, entryKey);
  }
  return deleted === 1;
}

/** KEYS[1] = lock key, ARGV[1] = holder token, ARGV[2] = new TTL in ms. Extends the lock only for its holder. */
export const RENEW_LOCK = defineScript<number>({
  name: 'rmwAiRenewLock',
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  memory(store, [key], [token, ttl]) {
    const held = store.get(key as string);
    if (held === undefined || String(held) !== token) return 0;
    store.set(key as string, held, Number(ttl));
    return 1;
  },
});

/** A lock this process holds; renewed every third of its TTL until released (or until `maxHoldMs`). */
export class HeldLock {
  private readonly timer: NodeJS.Timeout;
  private released = false;

  private constructor(
    private readonly backend: Backend,
    readonly entryKey: string,
    private readonly token: string,
    ttlMs: number,
    maxHoldMs: number,
  ) {
    const started = Date.now();
    this.timer = setInterval(
      () => {
        if (Date.now() - started > maxHoldMs) {
          clearInterval(this.timer);
          return;
        }
        backend.run(RENEW_LOCK, [lockKey(entryKey)], [token, ttlMs]).catch((error: unknown) => {
          debug('could not renew lock %s: %s', entryKey, error);
        });
      },
      Math.max(10, Math.floor(ttlMs / 3)),
    );
    this.timer.unref();
  }

  /**
   * Takes the lock of `entryKey` when nobody holds it; undefined when someone does. Throws when Redis fails.
   * A lock this process left behind (see `Leftovers`) is deleted and taken over rather than waited for.
   */
  static async acquire(
    backend: Backend,
    entryKey: string,
    ttlMs: number,
    maxHoldMs: number,
  ): Promise<HeldLock | undefined> {
    const key = lockKey(entryKey);
    const leftovers = leftoversOf(backend);
    const token = randomBytes(12).toString('base64url');
    const take = async (): Promise<boolean> => {
      try {
        return await backend.setIfAbsent(key, token, ttlMs);
      } catch (error) {
        // The SET may still have reached Redis (a timeout is not a refusal): the lock may be ours.
        leftovers.remember(key, token);
        throw error;
      }
    };
    let taken = await take();
    if (!taken) {
      const mine = leftovers.take(key);
      if (mine.length > 0) {
        let deleted: boolean;
        try {
          deleted = await releaseIfHeld(backend, entryKey, mine);
        } catch (error) {
          for (const old of mine) leftovers.remember(key, old);
          throw error;
        }
        if (deleted) {
          debug('deleted lock %s this process had left behind', entryKey);
          taken = await take();
        }
      }
    } else {
      leftovers.take(key); // whatever this process left there is gone
    }
    return taken ? new HeldLock(backend, entryKey, token, ttlMs, maxHoldMs) : undefined;
  }

  /** Releases the lock (if still ours) and wakes every waiter on every instance. Never throws. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    try {
      // Not announced when the lock was no longer ours: its new holder announces its own release.
      await releaseIfHeld(this.backend, this.entryKey, [this.token]);
    } catch (error) {
      // It may stay until its TTL: remembered, so this process's own next call does not wait for it.
      leftoversOf(this.backend).remember(lockKey(this.entryKey), this.token);
      debug('could not release lock %s (remembered as left behind; it expires by itself): %s', this.entryKey, error);
    }
  }
}

/**
 * Locks this process may have left in Redis: a SET NX that failed (a timeout is not a refusal: it may
 * have been applied after all) or a release that failed. Without this, this process's next call for
 * that entry would wait for a lock nobody holds, up to its TTL. Bounded; the oldest are forgotten first
 * (they expire by themselves).
 */
class Leftovers {
  private static readonly MAX_KEYS = 10_000;
  private readonly tokens = new Map<string, string[]>();

  remember(key: string, token: string): void {
    const known = this.tokens.get(key) ?? [];
    this.tokens.delete(key);
    this.tokens.set(key, [...known.slice(-3), token]);
    if (this.tokens.size > Leftovers.MAX_KEYS) {
      const oldest = this.tokens.keys().next().value;
      if (oldest !== undefined) this.tokens.delete(oldest);
    }
  }

  /** The tokens this process may have left at `key`, forgotten as they are handed out. */
  take(key: string): string[] {
    const known = this.tokens.get(key);
    if (!known) return [];
    this.tokens.delete(key);
    return known;
  }
}

const leftovers = new WeakMap<Backend, Leftovers>();

function leftoversOf(backend: Backend): Leftovers {
  let known = leftovers.get(backend);
  if (!known) {
    known = new Leftovers();
    leftovers.set(backend, known);
  }
  return known;
}

/** Wakes the callers of this process that wait on another process's inference. One subscription per backend. */
class ReleaseListener {
  private readonly waiting = new Map<string, Set<() => void>>();
  private subscribed: Promise<unknown> | undefined;

  constructor(private readonly backend: Backend) {}

  /**
   * Resolves when the holder of `entryKey` announces its release, or after `ms` (then the caller looks
   * again by itself: the announcement may have been missed, or the holder may have crashed).
   */
  async wait(entryKey: string, ms: number): Promise<void> {
    this.ensureSubscribed();
    await new Promise<void>((resolve) => {
      let set = this.waiting.get(entryKey);
      if (!set) {
        set = new Set();
        this.waiting.set(entryKey, set);
      }
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiting.get(entryKey) === waiters) this.waiting.delete(entryKey);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      waiters.add(done);
    });
  }

  /** How many callers of this process wait on another process's inference of `entryKey` right now. */
  waitingOn(entryKey: string): number {
    return this.waiting.get(entryKey)?.size ?? 0;
  }

  private ensureSubscribed(): void {
    if (this.subscribed) return;
    this.subscribed = this.backend
      .subscribe(RELEASE_CHANNEL, (key) => {
        for (const wake of [...(this.waiting.get(key) ?? [])]) wake();
      })
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
