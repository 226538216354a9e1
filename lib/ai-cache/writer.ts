// Writes entries: shouldCache, the maxSize check, compression and a bounded SET; never throws.
import { emitEvent } from '../common/events';
import { debugFor } from '../common/log';
import { redisFailureReason } from '../common/reasons';
import { type Entry, encodeEntry } from './entry';
import type { AiCacheConfig } from './options';

const debug = debugFor('ai-cache');

/** Writes entries of one cached function and reports each store or skip. */
export class EntryWriter {
  constructor(private readonly config: AiCacheConfig<never>) {}

  /** `shouldCache`, where a throwing predicate means "do not store". Emits the skip. */
  accepts(result: unknown): boolean {
    if (safely(() => this.config.shouldCache(result), debug)) return true;
    emitEvent({ kind: 'cache', cache: 'ai', outcome: 'skip', reason: 'should-cache' });
    return false;
  }

  /** Compresses and writes an entry; never throws (a cache that cannot store only costs a later miss). */
  async persist(key: string, kind: Entry['kind'], raw: Buffer | undefined, ttlMs: number): Promise<void> {
    if (raw === undefined) return;
    const { backend, maxSize, codec, compressAbove } = this.config;
    if (raw.length > maxSize) {
      emitEvent({ kind: 'cache', cache: 'ai', outcome: 'skip', reason: 'too-large', rawBytes: raw.length });
      debug('not storing %s: %d bytes is above maxSize %d', key, raw.length, maxSize);
      return;
    }
    if (backend.isDown()) {
      emitEvent({ kind: 'cache', cache: 'ai', outcome: 'skip', reason: 'redis-unavailable' });
      return;
    }
    try {
      const { bytes, rawBytes } = await encodeEntry(kind, raw, { codec, compressAbove });
      await backend.set(key, bytes, ttlMs);
      emitEvent({ kind: 'cache', cache: 'ai', outcome: 'store', rawBytes, storedBytes: bytes.length });
      debug('stored %s: %d bytes raw, %d stored', key, rawBytes, bytes.length);
    } catch (error) {
      emitEvent({ kind: 'cache', cache: 'ai', outcome: 'skip', reason: redisFailureReason(error) });
      debug('store %s failed: %s', key, error);
    }
  }
}

/** Runs a predicate; one that throws means false. */
export function safely(predicate: () => boolean, log: (format: string, ...args: unknown[]) => void): boolean {
  try {
    return predicate() === true;
  } catch (error) {
    log('predicate threw, treated as false: %s', error);
    return false;
  }
}
