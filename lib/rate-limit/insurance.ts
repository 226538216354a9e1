// The insurance limiter: rate-limiter-flexible's RateLimiterMemory, one per window, used while Redis is failing.
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { toError } from '../common/errors';
import type { WindowConfig } from './options';

/** What the insurance limiter decided. */
export interface InsuranceResult {
  allowed: boolean;
  retryAfterMs: number;
  /** `used, nextMs` per window, as the script replies (see `Decision`). */
  counts: number[];
}

/** Most distinct keys (subject and endpoint) the insurance limiter of one `rateLimit()` remembers. */
export const MAX_INSURANCE_KEYS = 10_000;

/**
 * Limits in this process only, with rate-limiter-flexible's fixed windows (one `RateLimiterMemory` per
 * window, same limits). It is a stand-in for minutes, not a replacement: each instance counts on its own.
 * Like the Redis script, a rejected request consumes nothing (its points are given back).
 *
 * Memory is bounded: `RateLimiterMemory` keeps every key (and a timer) for its window's length — a day for
 * `'1d'` — so an LRU of at most `maxKeys` keys sits in front, and the least recently seen key is deleted
 * from every window when a new one would exceed it (it starts from zero if it comes back).
 */
export class InsuranceLimiter {
  private readonly limiters: RateLimiterMemory[];
  /** The keys the limiters hold, least recently used first out. */
  private readonly keys: LRUCache<string, true>;

  constructor(windows: WindowConfig[], maxKeys = MAX_INSURANCE_KEYS) {
    this.limiters = windows.map(
      (w) => new RateLimiterMemory({ points: w.limit, duration: w.windowMs / 1000, keyPrefix: `insurance-${w.label}` }),
    );
    this.keys = new LRUCache<string, true>({
      max: maxKeys,
      dispose: (_value, key, reason) => {
        // RateLimiterMemory deletes synchronously; the promise it returns carries nothing.
        if (reason === 'evict') for (const limiter of this.limiters) void limiter.delete(key);
      },
    });
  }

  /** Consumes `cost` in every window, or in none. */
  async consume(key: string, cost: number): Promise<InsuranceResult> {
    if (this.keys.get(key) === undefined) this.keys.set(key, true);
    // RateLimiterMemory counts synchronously inside consume(), so all windows are updated in this tick.
    const outcomes = await Promise.allSettled(this.limiters.map((limiter) => limiter.consume(key, cost)));
    let allowed = true;
    let retryAfterMs = 0;
    const results = outcomes.map((outcome) => {
      if (outcome.status === 'fulfilled') return outcome.value;
      // A limit result (RateLimiterRes) is a rejection here; anything else is a real failure.
      if (!(outcome.reason instanceof RateLimiterRes)) throw toError(outcome.reason);
      allowed = false;
      retryAfterMs = Math.max(retryAfterMs, outcome.reason.msBeforeNext);
      return outcome.reason;
    });
    if (!allowed) {
      // Give the points back everywhere: a rejected request consumes nothing.
      await Promise.all(this.limiters.map((limiter) => limiter.reward(key, cost)));
    }
    const counts = results.flatMap((res) => {
      const consumed = allowed ? res.consumedPoints : Math.max(0, res.consumedPoints - cost);
      return [consumed, consumed > 0 ? Math.max(0, res.msBeforeNext) : 0];
    });
    return { allowed, retryAfterMs: allowed ? 0 : Math.max(1, retryAfterMs), counts };
  }

  /** Forgets a key (admin reset). */
  async delete(key: string): Promise<void> {
    this.keys.delete(key);
    await Promise.all(this.limiters.map((limiter) => limiter.delete(key)));
  }
}
