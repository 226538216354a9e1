// Tees a streamed result: every consumer gets the chunks as they arrive while they are recorded for the cache.
import { AiStreamIdleError } from './errors';

/**
 * How a recorded stream ended: complete, failed (the source threw), abandoned (every consumer left
 * early), or idle (no consumer asked for a chunk for `idleMs`, e.g. it was never iterated).
 */
export type StreamEnd = 'done' | 'failed' | 'abandoned' | 'idle';

/**
 * Pulls the source only as fast as the fastest consumer asks; a consumer that joins late first gets
 * the chunks recorded so far. The source is closed (its `return()`) once every consumer has left
 * before the end, or once no consumer has asked for a chunk for `idleMs` while no chunk was being
 * produced (a result that was awaited but never iterated must not hold its lock and flight forever).
 * `onEnd` runs once, synchronously, when the outcome is known.
 */
export class StreamRecorder<C = unknown> {
  readonly chunks: C[] = [];
  private state: 'open' | StreamEnd = 'open';
  private error: unknown;
  private consumers = 0;
  private pulling: Promise<void> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly iterator: AsyncIterator<C>;

  constructor(
    source: AsyncIterable<C>,
    private readonly idleMs: number,
    private readonly onEnd: (end: StreamEnd, recorder: StreamRecorder<C>) => void,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
    this.armIdle();
  }

  /** Whether the stream is still running, or how it ended. */
  get status(): 'open' | StreamEnd {
    return this.state;
  }

  /** A new consumer: the chunks so far, then the live ones. */
  subscribe(): AsyncIterableIterator<C> {
    this.consumers++;
    let index = 0;
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      this.consumers--;
      if (this.consumers === 0 && this.state === 'open') this.abandon();
    };
    const recorder = this;
    const iterator: AsyncIterableIterator<C> = {
      async next(): Promise<IteratorResult<C, undefined>> {
        recorder.armIdle();
        for (;;) {
          if (left) return { done: true, value: undefined };
          if (index < recorder.chunks.length) return { done: false, value: recorder.chunks[index++] as C };
          if (recorder.state === 'failed') {
            leave();
            throw recorder.error;
          }
          if (recorder.state === 'idle') {
            // Its source is closed: ending here would pass a truncated answer off as complete.
            leave();
            throw new AiStreamIdleError(recorder.idleMs);
          }
          if (recorder.state !== 'open') {
            leave();
            return { done: true, value: undefined };
          }
          await recorder.pull();
        }
      },
      async return(): Promise<IteratorResult<C, undefined>> {
        leave();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  private pull(): Promise<void> {
    if (!this.pulling) {
      // A consumer is waiting on the source: a slow model is not an idle consumer.
      clearTimeout(this.idleTimer);
      this.pulling = this.iterator.next().then(
        (result) => {
          this.pulling = undefined;
          if (this.state !== 'open') return;
          if (result.done) this.end('done');
          else {
            this.chunks.push(result.value);
            this.armIdle();
          }
        },
        (error: unknown) => {
          this.pulling = undefined;
          if (this.state !== 'open') return;
          this.error = error;
          this.end('failed');
        },
      );
    }
    return this.pulling;
  }

  /** (Re)starts the idle countdown, unless the stream ended or a chunk is being produced. */
  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.state !== 'open' || this.pulling) return;
    this.idleTimer = setTimeout(() => {
      if (this.state === 'open' && !this.pulling) this.abandon('idle');
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private abandon(end: 'abandoned' | 'idle' = 'abandoned'): void {
    this.end(end);
    try {
      // Let the source close its connection; its answer (or failure) no longer matters.
      this.iterator.return?.()?.catch(() => undefined);
    } catch {
      // a source whose return() throws synchronously is closed all the same
    }
  }

  private end(end: StreamEnd): void {
    clearTimeout(this.idleTimer);
    this.state = end;
    this.onEnd(end, this);
  }
}

/** A cached stream played back. */
export async function* replay<C>(chunks: readonly C[]): AsyncGenerator<C, void, undefined> {
  for (const chunk of chunks) yield chunk;
}

/** Whether a result is a stream of chunks (strings and Buffers are values, not streams). */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}
