// The bounded in-process key space behind the memory backend: TTLs per key, LRU eviction by entries and bytes.
import { LRUCache } from 'lru-cache';

/** Bounds of the memory store. */
export interface MemoryStoreOptions {
  /** Most keys held; the least recently used go first. @default 10000 */
  maxEntries?: number;
  /** Most bytes held (values' estimated size). @default 64 MiB */
  maxBytes?: number;
}

interface Slot {
  value: unknown;
}

/** A tiny Redis-like key space. Values are Buffers, strings, numbers or plain objects owned by scripts. */
export class MemoryStore {
  private readonly cache: LRUCache<string, Slot>;

  constructor({ maxEntries = 10_000, maxBytes = 64 * 1024 * 1024 }: MemoryStoreOptions = {}) {
    this.cache = new LRUCache<string, Slot>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (slot, key) => key.length + estimateSize(slot.value),
      ttlAutopurge: false,
      allowStale: false,
    });
  }

  /** The value, or undefined when absent or expired. */
  get<T = unknown>(key: string): T | undefined {
    return this.cache.get(key)?.value as T | undefined;
  }

  /** Stores a value; `ttlMs` of 0 or undefined keeps it until evicted or deleted. */
  set(key: string, value: unknown, ttlMs?: number): void {
    this.cache.set(key, { value }, ttlMs ? { ttl: ttlMs } : {});
  }

  /** Deletes a key; true when it existed. */
  delete(key: string): boolean {
    return this.cache.delete(key);
  }

  /** Remaining lifetime in ms; -1 without expiry; -2 when absent (as Redis `PTTL`). */
  pttl(key: string): number {
    if (!this.cache.has(key)) return -2;
    const remaining = this.cache.getRemainingTTL(key);
    return Number.isFinite(remaining) ? remaining : -1;
  }

  /** Number of keys held. */
  get size(): number {
    return this.cache.size;
  }

  /** Drops everything. */
  clear(): void {
    this.cache.clear();
  }
}

function estimateSize(value: unknown): number {
  if (Buffer.isBuffer(value)) return value.length || 1;
  if (typeof value === 'string') return value.length * 2 || 1;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return 8;
  try {
    return (JSON.stringify(value)?.length ?? 8) * 2;
  } catch {
    return 1024;
  }
}
