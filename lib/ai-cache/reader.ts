// Reads an entry: GET, decode (with a memo of recently decoded compressed strings), turn into an outcome.
import { LRUCache } from 'lru-cache';
import { debugFor, warnOnce } from '../common/log';
import type { Backend } from '../redis';
import type { Outcome } from './core';
import { decodeEntry, isCompressedString } from './entry';

const debug = debugFor('ai-cache');

/** Reads entries of one cached function. */
export class EntryReader {
  /**
   * Compressed string entries decoded recently, with the exact bytes they came from. A hit still reads
   * Redis; only when it returns the same bytes is the decompression skipped (strings are immutable).
   */
  private readonly decoded: LRUCache<string, { bytes: Buffer; value: string }> | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly maxSize: number,
    decodedCacheBytes: number,
  ) {
    if (decodedCacheBytes > 0) {
      this.decoded = new LRUCache({
        maxSize: decodedCacheBytes,
        sizeCalculation: (item) => item.bytes.length + item.value.length * 2 || 1,
      });
    }
  }

  /** The entry of `key` as an outcome; undefined on a miss or an unusable entry; 'error' when Redis failed. */
  async read(key: string): Promise<Outcome | undefined | 'error'> {
    let bytes: Buffer | null;
    try {
      bytes = await this.backend.get(key);
    } catch (error) {
      debug('read %s failed, calling the function directly: %s', key, error);
      return 'error';
    }
    if (!bytes) return undefined;
    const memo = this.decoded && isCompressedString(bytes) ? this.decoded.get(key) : undefined;
    if (memo?.bytes.equals(bytes)) return { kind: 'value', value: memo.value };
    const entry = await decodeEntry(bytes, this.maxSize);
    if (typeof entry === 'string') {
      warnOnce('AI_CACHE_BAD_ENTRY', `ignoring an unusable aiCache entry (${entry}); it counts as a miss`);
      debug('unusable entry %s: %s', key, entry);
      return undefined;
    }
    switch (entry.kind) {
      case 'string':
        if (this.decoded && isCompressedString(bytes)) this.decoded.set(key, { bytes, value: entry.value });
        return { kind: 'value', value: entry.value };
      case 'value':
        return { kind: 'value', value: entry.value };
      case 'stream':
        return { kind: 'replay', chunks: entry.chunks };
      case 'failure':
        return { kind: 'failure', failure: entry.failure };
    }
  }
}
