// One cached function's engine: read, share the flight in process, lock across processes, run, record, store.
import { messageOf, toError } from '../common/errors';
import { emitEvent } from '../common/events';
import { Flights } from '../common/flights';
import { debugFor, warnOnce } from '../common/log';
import { type BypassReason, redisFailureReason } from '../common/reasons';
import { type Lock, Outbox } from '../redis';
import { serializeEntry } from './entry';
import { CachedFailureError } from './errors';
import { entryKey } from './keying';
import { acquireInferenceLock, releaseListenerFor } from './lock';
import type { AiCacheConfig } from './options';
import { EntryReader } from './reader';
import { isAsyncIterable, replay, type StreamEnd, StreamRecorder } from './stream-recorder';
import { EntryWriter, safely } from './writer';

const debug = debugFor('ai-cache');

/** What a flight produced. */
export type Outcome =
  | { kind: 'value'; value: unknown }
  | { kind: 'stream'; recorder: StreamRecorder }
  | { kind: 'replay'; chunks: unknown[] }
  | { kind: 'failure'; failure: { name: string; message: string; code?: string } };

/** A flight's outcome and where it came from: an entry, an inference, or an inference without the cache. */
export interface Resolved {
  outcome: Outcome;
  from: 'cache' | 'inference' | 'direct';
  /** Why the cache was bypassed, for `direct`. */
  reason?: BypassReason;
}

/** Per-call controls after parsing. */
export interface ParsedControls {
  bypass: boolean;
  refresh: boolean;
  ttlMs: number | undefined;
  namespace: string | undefined;
}

export const NO_CONTROLS: ParsedControls = { bypass: false, refresh: false, ttlMs: undefined, namespace: undefined };

/** A flight in this process: identical calls join it until its entry is written. */
interface Flight {
  promise: Promise<Resolved>;
  /** The answer is known and only its write is pending: a `refresh` call starts a new flight instead of joining. */
  settled: boolean;
  /** Resolves once the entry is written (or not); `invalidate()` waits for it. */
  written: Promise<void>;
  markWritten: () => void;
  /** Leaves the map (if still there). */
  finish: () => void;
}

/** The engine behind one `aiCache()` function. */
export class AiCacheCore<A extends unknown[]> {
  private readonly inflight = new Flights<Flight>();
  /** Deletes on their way to Redis (and retried when it failed): those keys bypass the cache meanwhile. */
  private readonly outbox: Outbox<number>;
  private readonly reader: EntryReader;
  private readonly writer: EntryWriter;
  constructor(
    readonly config: AiCacheConfig<A>,
    private readonly fn: (...args: A) => unknown,
  ) {
    this.reader = new EntryReader(config.backend, config.maxSize, config.decodedCacheBytes);
    this.outbox = new Outbox({
      concern: 'ai-cache',
      code: 'W_AI_CACHE_INVALIDATION_PENDING',
      meanwhile: 'runs the function without the cache',
      describe: (keys) => keys.join(', '),
      send: (keys) => config.backend.del(...keys),
    });
    this.writer = new EntryWriter(config);
  }

  /** `ai:<model>:<hash>` of these arguments. */
  keyFor(args: A, namespace?: string): string {
    const { config } = this;
    return entryKey({
      model: config.modelOf(args),
      material: config.keyMaterial(args),
      namespace: namespace ?? config.namespaceOf(args),
      version: config.version,
    });
  }

  /** One call as the caller sees it: the value, a live or replayed stream, or the inference's rejection. */
  async call(args: A, controls: ParsedControls): Promise<unknown> {
    if (controls.bypass) {
      emitEvent({ kind: 'cache', cache: 'ai', outcome: 'bypass', reason: 'requested' });
      return this.fn(...args);
    }
    const key = this.keyFor(args, controls.namespace);
    for (let attempt = 0; ; attempt++) {
      const { resolved, joined } = await this.resolve(key, args, controls);
      const { outcome } = resolved;
      // Everyone left a shared stream before this caller arrived: that flight is over, start a new one.
      const status = outcome.kind === 'stream' ? outcome.recorder.status : undefined;
      if ((status === 'abandoned' || status === 'idle') && attempt < 3) continue;
      if (resolved.from === 'direct') {
        emitEvent({ kind: 'cache', cache: 'ai', outcome: 'bypass', reason: resolved.reason ?? 'redis-unavailable' });
      } else if (joined) {
        emitEvent({ kind: 'cache', cache: 'ai', outcome: 'hit' });
      } else {
        emitEvent({ kind: 'cache', cache: 'ai', outcome: resolved.from === 'cache' ? 'hit' : 'miss' });
      }
      return deliver(outcome, key);
    }
  }

  /** Joins the flight of `key` in this process, or starts one. */
  resolve(key: string, args: A, controls: ParsedControls): Promise<{ resolved: Resolved; joined: boolean }> {
    const current = this.inflight.get(key);
    if (current && !(current.settled && controls.refresh)) {
      return current.promise.then((resolved) => ({ resolved, joined: true }));
    }
    let markWritten!: () => void;
    const written = new Promise<void>((resolve) => {
      markWritten = resolve;
    });
    const flight: Flight = {
      promise: undefined as unknown as Promise<Resolved>,
      settled: false,
      written,
      markWritten,
      finish: () => {
        markWritten();
        end();
      },
    };
    const end = this.inflight.start(key, flight);
    // Started after a tick, so a flight that ends at once still finds itself in the map to leave it.
    flight.promise = Promise.resolve().then(() => this.fly(key, args, controls, flight));
    flight.promise.catch(flight.finish);
    return flight.promise.then((resolved) => ({ resolved, joined: false }));
  }

  /**
   * Deletes the entry of `key` (after a write in flight lands); false when there was none or Redis
   * failed. Through the outbox: until the delete reached Redis, calls of this process for `key` run the
   * function without the cache, and a failed delete is retried in the background.
   */
  async invalidate(key: string): Promise<boolean> {
    const current = this.inflight.get(key);
    if (current?.settled) {
      this.inflight.delete(key);
      await current.written;
    }
    try {
      return (await this.outbox.send([key])) > 0;
    } catch (error) {
      debug('invalidate %s failed: %s', key, error);
      return false;
    }
  }

  private async fly(key: string, args: A, controls: ParsedControls, flight: Flight): Promise<Resolved> {
    const { backend, lock: useLock, lockTtlMs, lockWaitMs, pollMs } = this.config;
    if (backend.isDown()) return this.run(key, args, controls, undefined, flight, 'redis-unavailable');
    if (this.outbox.size > 0 && this.outbox.has(key)) {
      return this.run(key, args, controls, undefined, flight, 'invalidation-pending');
    }
    if (!controls.refresh) {
      const hit = await this.reader.read(key);
      if (typeof hit === 'string') return this.run(key, args, controls, undefined, flight, hit);
      if (hit) return found(hit, flight);
    }
    if (!useLock) return this.run(key, args, controls, undefined, flight);
    const deadline = Date.now() + lockWaitMs;
    for (;;) {
      let lock: Lock | undefined;
      try {
        lock = await acquireInferenceLock(backend, key, lockTtlMs, Math.max(lockWaitMs, lockTtlMs));
      } catch (error) {
        debug('lock %s failed, running without it: %s', key, error);
        return this.run(key, args, controls, undefined, flight, redisFailureReason(error));
      }
      if (lock) {
        // Another process may have stored the entry between our read and our lock.
        const hit = controls.refresh ? undefined : await this.reader.read(key);
        if (hit !== undefined && typeof hit !== 'string') {
          await lock.release();
          return found(hit, flight);
        }
        return this.run(key, args, controls, lock, flight);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        debug('waited %d ms for another instance to compute %s; computing it here', lockWaitMs, key);
        return this.run(key, args, controls, undefined, flight);
      }
      await releaseListenerFor(backend).wait(key, Math.min(pollMs, left));
      // A refresh cannot tell the other holder's new entry from the old one: it computes its own, after it.
      if (controls.refresh) continue;
      const hit = await this.reader.read(key);
      if (typeof hit === 'string') return this.run(key, args, controls, undefined, flight, hit);
      if (hit) return found(hit, flight);
    }
  }

  /** Runs the inference, then stores (in the background) and releases the lock. */
  private async run(
    key: string,
    args: A,
    controls: ParsedControls,
    lock: Lock | undefined,
    flight: Flight,
    bypassReason?: BypassReason,
  ): Promise<Resolved> {
    const { finish } = flight;
    const from = bypassReason === undefined ? 'inference' : 'direct';
    const ttlMs = controls.ttlMs ?? this.config.ttlMs;
    let result: unknown;
    try {
      result = await this.fn(...args);
    } catch (error) {
      // Leave the map first: the next identical call must run again, not share this failure.
      finish();
      emitEvent({ kind: 'cache', cache: 'ai', outcome: 'skip', reason: 'error' });
      void this.afterFailure(key, error, lock);
      throw error;
    }
    if (isAsyncIterable(result)) {
      // Nobody reading it for lockTtl (awaited, never iterated) ends the recording: lock and flight are freed.
      const recorder = new StreamRecorder(result, this.config.lockTtlMs, (end, recorded) => {
        void this.afterStream(key, end, recorded.chunks, ttlMs, lock, finish);
      });
      return { outcome: { kind: 'stream', recorder }, from, reason: bypassReason };
    }
    let raw: Buffer | undefined;
    const kind = typeof result === 'string' ? 'string' : 'value';
    if (this.writer.accepts(result)) {
      try {
        raw = serializeEntry(kind === 'string' ? { kind, value: result as string } : { kind, value: result });
      } catch (error) {
        finish();
        void lock?.release();
        throw error;
      }
    }
    if (raw === undefined) {
      finish();
      void lock?.release();
    } else {
      // Until the entry is written, identical calls in this process still get this answer.
      flight.settled = true;
      void this.writer.persist(key, kind, raw, ttlMs).finally(async () => {
        await lock?.release();
        finish();
      });
    }
    return { outcome: { kind: 'value', value: result }, from, reason: bypassReason };
  }

  private async afterFailure(key: string, error: unknown, lock: Lock | undefined): Promise<void> {
    const { negativeTtlMs, cacheFailure } = this.config;
    const failure = toError(error);
    if (negativeTtlMs > 0 && safely(() => cacheFailure(failure), debug)) {
      const code = (failure as { code?: unknown }).code;
      const details = { name: failure.name, message: failure.message, ...(typeof code === 'string' ? { code } : {}) };
      await this.writer.persist(key, 'failure', serializeEntry({ kind: 'failure', failure: details }), negativeTtlMs);
    }
    await lock?.release();
  }

  private async afterStream(
    key: string,
    end: StreamEnd,
    chunks: unknown[],
    ttlMs: number,
    lock: Lock | undefined,
    finish: () => void,
  ): Promise<void> {
    if (end !== 'done') {
      finish();
      emitEvent({ kind: 'cache', cache: 'ai', outcome: 'skip', reason: `stream-${end}` });
      debug('stream %s %s: not stored', key, end);
      await lock?.release();
      return;
    }
    let raw: Buffer | undefined;
    if (this.writer.accepts(chunks)) {
      try {
        raw = serializeEntry({ kind: 'stream', chunks });
      } catch (error) {
        warnOnce(
          'W_AI_CACHE_UNSERIALIZABLE_CHUNK',
          `stream of ${key} not cached: ${messageOf(error)} (printed once per process)`,
        );
        emitEvent({ kind: 'cache', cache: 'ai', outcome: 'skip', reason: 'unserializable' });
      }
    }
    await this.writer.persist(key, 'stream', raw, ttlMs);
    await lock?.release();
    finish();
  }
}

function found(outcome: Outcome, flight: Flight): Resolved {
  flight.finish();
  return { outcome, from: 'cache' };
}

/** Turns an outcome into what the caller gets. */
export function deliver(outcome: Outcome, key: string): unknown {
  switch (outcome.kind) {
    case 'value':
      return outcome.value;
    case 'stream':
      return outcome.recorder.subscribe();
    case 'replay':
      return replay(outcome.chunks);
    case 'failure':
      throw new CachedFailureError(outcome.failure, key);
  }
}
