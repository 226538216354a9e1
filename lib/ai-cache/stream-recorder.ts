// Tees a streamed result: every consumer gets the chunks as they arrive while they are recorded for the cache.

/** How a recorded stream ended: complete, failed (the source threw), or abandoned (every consumer left early). */
export type StreamEnd = 'done' | 'failed' | 'abandoned';

/**
 * Pulls the source only as fast as the fastest consumer asks; a consumer that joins late first gets
 * the chunks recorded so far. The source is closed (its `return()`) once every consumer has left
 * before the end. `onEnd` runs once, synchronously, when the outcome is known.
 */
export class StreamRecorder<C = unknown> {
  readonly chunks: C[] = [];
  private state: 'open' | StreamEnd = 'open';
  private error: unknown;
  private consumers = 0;
  private pulling: Promise<void> | undefined;
  private readonly iterator: AsyncIterator<C>;

  constructor(
    source: AsyncIterable<C>,
    private readonly onEnd: (end: StreamEnd, recorder: StreamRecorder<C>) => void,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
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
        for (;;) {
          if (left) return { done: true, value: undefined };
          if (index < recorder.chunks.length) return { done: false, value: recorder.chunks[index++] as C };
          if (recorder.state === 'failed') {
            leave();
            throw recorder.error;
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
      this.pulling = this.iterator.next().then(
        (result) => {
          this.pulling = undefined;
          if (this.state !== 'open') return;
          if (result.done) this.end('done');
          else this.chunks.push(result.value);
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

  private abandon(): void {
    this.end('abandoned');
    try {
      // Let the source close its connection; its answer (or failure) no longer matters.
      this.iterator.return?.()?.catch(() => undefined);
    } catch {
      // a source whose return() throws synchronously is closed all the same
    }
  }

  private end(end: StreamEnd): void {
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
