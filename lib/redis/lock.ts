// The one cross-instance lock: SET NX PX with a random token; renewed, released (and announced) only by its holder.
import { randomBytes } from 'node:crypto';
import { debugFor } from '../common/log';
import type { Backend } from './backend';
import { defineScript } from './script';

const debug = debugFor('lock');

/**
 * KEYS[1] = a key; ARGV[1] = a channel ('' for none), ARGV[2] = the message, ARGV[3…] = tokens.
 * Deletes the key only when it holds one of the tokens, then publishes the message, so waiters on every
 * instance wake in the same round trip. Replies 1 when it deleted the key. (The memory twin cannot reach
 * the memory backend's channels: `deleteIfHolds` publishes there.)
 */
export const DELETE_IF_HOLDS = defineScript<number>({
  name: 'rmwDeleteIfHolds',
  lua: `local held = redis.call('GET', KEYS[1])
if not held then return 0 end
for i = 3, #ARGV do
  if held == ARGV[i] then
    redis.call('DEL', KEYS[1])
    if ARGV[1] ~= '' then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
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

/** KEYS[1] = lock key, ARGV[1] = holder token, ARGV[2] = new TTL in ms. Extends the lock only for its holder. */
export const LOCK_RENEW = defineScript<number>({
  name: 'rmwLockRenew',
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  memory(store, [key], [token, ttl]) {
    const held = store.get(key as string);
    if (held === undefined || String(held) !== token) return 0;
    store.set(key as string, held, Number(ttl));
    return 1;
  },
});

/** Who to tell when a lock is released: `message` on `channel`. */
export interface Announcement {
  channel: string;
  message: string;
}

/** Deletes `key` when it holds one of `tokens` (and announces it); true when it did. Rejects when Redis fails. */
export async function deleteIfHolds(
  backend: Backend,
  key: string,
  tokens: readonly string[],
  announce?: Announcement,
): Promise<boolean> {
  const deleted = await backend.run(
    DELETE_IF_HOLDS,
    [key],
    [announce?.channel ?? '', announce?.message ?? '', ...tokens],
  );
  if (deleted === 1 && announce && backend.kind === 'memory') await backend.publish(announce.channel, announce.message);
  return deleted === 1;
}

/** A new random lock token. */
const newToken = (): string => randomBytes(12).toString('base64url');

/** How a lock is held. */
export interface LockOptions {
  /** Lifetime of the lock key in ms (renewed every third of it while `renewForMs` lasts). */
  ttlMs: number;
  /** Keep renewing it for this long (ms); 0: never renewed. */
  renewForMs?: number;
  /** Published when the holder releases it. */
  announce?: Announcement;
}

/** A lock this process holds. */
export class Lock {
  private readonly timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    private readonly backend: Backend,
    readonly key: string,
    private readonly token: string,
    private readonly options: LockOptions,
  ) {
    const { ttlMs, renewForMs = 0 } = options;
    if (renewForMs <= 0) return;
    const started = Date.now();
    this.timer = setInterval(
      () => {
        if (Date.now() - started > renewForMs) {
          clearInterval(this.timer);
          return;
        }
        backend.run(LOCK_RENEW, [key], [token, ttlMs]).catch((error: unknown) => {
          debug('could not renew lock %s: %s', key, error);
        });
      },
      Math.max(10, Math.floor(ttlMs / 3)),
    );
    this.timer.unref();
  }

  /**
   * Takes the lock at `key` when nobody holds it; undefined when someone does. Rejects when Redis fails.
   * A lock this process left behind (a SET whose reply was lost, a release that failed) is deleted and
   * taken over rather than waited for.
   */
  static async acquire(backend: Backend, key: string, options: LockOptions): Promise<Lock | undefined> {
    const left = leftoversOf(backend);
    const token = newToken();
    const take = async (): Promise<boolean> => {
      try {
        return await backend.setIfAbsent(key, token, options.ttlMs);
      } catch (error) {
        // The SET may still have reached Redis (a timeout is not a refusal): the lock may be ours.
        left.remember(key, token);
        throw error;
      }
    };
    let taken = await take();
    if (taken)
      left.take(key); // whatever this process left there is gone
    else {
      const mine = left.take(key);
      if (mine.length > 0) {
        try {
          if (await deleteIfHolds(backend, key, mine, options.announce)) {
            debug('deleted lock %s this process had left behind', key);
            taken = await take();
          }
        } catch (error) {
          for (const old of mine) left.remember(key, old);
          throw error;
        }
      }
    }
    return taken ? new Lock(backend, key, token, options) : undefined;
  }

  /** Releases the lock if it is still ours (and announces it). Never rejects. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    try {
      // Not announced when the lock was no longer ours: its new holder announces its own release.
      await deleteIfHolds(this.backend, this.key, [this.token], this.options.announce);
    } catch (error) {
      // It may stay until its TTL: remembered, so this process's next acquire does not wait for it.
      leftoversOf(this.backend).remember(this.key, this.token);
      debug('could not release lock %s (remembered as left behind; it expires by itself): %s', this.key, error);
    }
  }
}

/** Tokens of locks this process may have left in Redis, per key. Bounded: the oldest are forgotten first. */
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
    const known = this.tokens.get(key) ?? [];
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
