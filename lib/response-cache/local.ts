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

  /** The local copy, only while the hub is subscribed and Redis is up (otherwise invalidations could be missed). */
  get(key: string): CachedResponse | undefined {
    if (!this.cache || !this.hub.subscribed || this.hub.backend.isDown()) return undefined;
    return this.cache.get(key);
  }

  set(key: string, entry: CachedResponse): void {
    this.cache?.set(key, entry);
  }

  delete(key: string): void {
    this.cache?.delete(key);
  }
}
