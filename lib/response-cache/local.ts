// The process-local copy of entries (L1): short-lived, bounded, dropped by invalidations and refills from any instance.
import { LRUCache } from 'lru-cache';
import type { CachedResponse } from './entry';
import { type CacheHub, matches } from './hub';

/** Bytes the L1 of one middleware may hold. */
const MAX_BYTES = 32 * 1024 * 1024;

export class LocalCache {
  private readonly cache: LRUCache<string, CachedResponse> | undefined;

  constructor(
    private readonly hub: CacheHub,
    ttlMs: number,
    maxEntries: number,
  ) {
    if (ttlMs <= 0) return;
    const cache = new LRUCache<string, CachedResponse>({
      max: maxEntries,
      ttl: ttlMs,
      maxSize: MAX_BYTES,
      sizeCalculation: (entry) => entry.body.length + 512,
    });
    this.cache = cache;
    hub.onDrop((target) => {
      if ('key' in target) {
        cache.delete(target.key);
        return;
      }
      for (const [key, entry] of cache.entries()) if (matches(entry, target)) cache.delete(key);
    });
  }

  /**
   * The local copy, only while the hub is subscribed and Redis is up (otherwise invalidations could be
   * missed), and none while another instance is invalidating one of its targets.
   */
  get(key: string): CachedResponse | undefined {
    if (!this.cache || !this.hub.subscribed || this.hub.backend.isDown()) return undefined;
    const entry = this.cache.get(key);
    return entry === undefined || this.hub.keepsOutOfL1(entry) ? undefined : entry;
  }

  /** Keeps a copy, unless an invalidation since `sinceSeq` (when its lookup began) or one under way hits it. */
  set(key: string, entry: CachedResponse, sinceSeq: number): void {
    if (this.cache && !this.hub.keepsOutOfL1(entry, sinceSeq)) this.cache.set(key, entry);
  }

  delete(key: string): void {
    this.cache?.delete(key);
  }
}
