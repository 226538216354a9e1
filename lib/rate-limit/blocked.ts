// In-memory blocking of subjects Redis has rejected, so a client hammering a limit costs no Redis calls until it may retry.
import { LRUCache } from 'lru-cache';
import type { Decision } from './decision';

/** Most blocked subjects remembered per limiter; the least recently seen go first. */
export const MAX_BLOCKED_KEYS = 10_000;

interface Block {
  /** When the rejected request would have fit (epoch ms). */
  until: number;
  /** When Redis rejected it. */
  at: number;
  /** The cost that did not fit: a request costing as much or more cannot fit before `until` either. */
  cost: number;
  decision: Decision;
}

/**
 * Remembers rejections until their retry time. Sound because usage only grows before then (other
 * instances add to it, time has not yet freed enough), with one exception: `reset()` on ANOTHER
 * instance is not seen here until the block ends.
 */
export class BlockedKeys {
  private readonly blocks = new LRUCache<string, Block>({ max: MAX_BLOCKED_KEYS, ttlAutopurge: false });

  /** Records a rejection by Redis. */
  add(tag: string, decision: Decision, now = Date.now()): void {
    if (decision.retryAfterMs <= 0) return;
    this.blocks.set(
      tag,
      { until: now + decision.retryAfterMs, at: now, cost: decision.cost, decision },
      { ttl: decision.retryAfterMs },
    );
  }

  /** A local rejection for a request of `cost`, or undefined when Redis must decide. */
  check(tag: string, cost: number, now = Date.now()): Decision | undefined {
    const block = this.blocks.get(tag);
    if (!block || cost < block.cost || now >= block.until) return undefined;
    return block.decision.later(cost, 'block', block.until - now, now - block.at);
  }

  delete(tag: string): void {
    this.blocks.delete(tag);
  }
}
