// Reads an entry: GET, decode (with a memo of recently decoded compressed strings), turn into an outcome.
import { LRUCache } from 'lru-cache';
import { debugFor, warnOnce } from '../common/log';
import { redisFailureReason } from '../common/reasons';
import type { Backend } from '../redis';
import type { Outcome } from './core';
import { decodeEntry, isCompressedText, parseText } from './entry';

const debug = debugFor('ai-cache');

/** Reads entries of one cached function. */
export class EntryReader {
  /**
   * The text of compressed string and value entries decoded recently, with the exact bytes it came from.
   * A hit still reads Redis; only when it returns the same bytes is the decompression skipped. Values
   * are parsed from the text on every hit, so no two callers ever share (and mutate) one object.
   */
  private readonly decoded: LRUCache<string, { bytes: Buffer; kind: 'string' | 'value'; text: string }> | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly maxSize: number,
    decodedCacheBytes: number,
  ) {
    if (decodedCacheBytes > 0) {
      this.decoded = new LRUCache({
        maxSize: decodedCacheBytes,
        sizeCalculation: (item) => item.bytes.length + item.text.length * 2 || 1,
      });
    }
  }

  /** The entry of `key` as an outcome; undefined on a miss or an unusable entry; the failure's reason when Redis failed. */
  async read(key: string): Promise<Outcome | undefined | 'redis-unavailable' | 'redis-error'> {
    let bytes: Buffer | null;
    try {
      bytes = await this.backend.get(key);
    } catch (error) {
      debug('read %s failed, calling the function directly: %s', key, error);
      return redisFailureReason(error);
    }
    if (!bytes) return undefined;
    const memo = this.decoded && isCompressedText(bytes) ? this.decoded.get(key) : undefined;
    if (memo?.bytes.equals(bytes)) return { kind: 'value', value: parseText(memo.kind, memo.text) };
    const decoded = this.decoded;
    const entry = await decodeEntry(
      bytes,
      this.maxSize,
      decoded && ((kind, text) => decoded.set(key, { bytes, kind, text })),
    );
    if (typeof entry === 'string') {
      warnOnce(
        'W_AI_CACHE_BAD_ENTRY',
        `ignoring an unusable aiCache entry ${key} (${entry}); it counts as a miss (printed once per process)`,
      );
      debug('unusable entry %s: %s', key, entry);
      return undefined;
    }
    switch (entry.kind) {
      case 'string':
      case 'value':
        return { kind: 'value', value: entry.value };
      case 'stream':
        return { kind: 'replay', chunks: entry.chunks };
      case 'failure':
        return { kind: 'failure', failure: entry.failure };
    }
  }
}
