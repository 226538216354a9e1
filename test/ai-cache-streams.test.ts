import { expect } from 'chai';
import { aiCache } from '../lib/ai-cache';
import { onEvent } from '../lib/common/events';
import { type RedisClient, resolveBackend } from '../lib/redis';
import { captureEvents, deferred, storedEntry, uniqueModel, useSharedClient } from './fixtures/ai-cache-helpers';
import { sharedStandalone, waitFor } from './support';

async function collect<C>(stream: AsyncIterable<C>): Promise<C[]> {
  const chunks: C[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('aiCache() with streamed results', () => {
  const shared = useSharedClient();

  it('should pass chunks through as they arrive, store the complete stream and replay it', async () => {
    const model = uniqueModel('stream');
    const gate = deferred();
    let inferences = 0;
    const suggest = aiCache({ redis: shared.client, model }, async function* (prompt: string) {
      inferences++;
      yield `Recipe for ${prompt}:`;
      await gate.promise;
      yield ' whisk';
      yield ' and bake.';
    });

    const live = suggest('cake')[Symbol.asyncIterator]();
    // The first chunk arrives while the model has not produced the second one yet.
    expect(await live.next()).to.deep.equal({ done: false, value: 'Recipe for cake:' });
    gate.resolve();
    const rest: string[] = [];
    for (let step = await live.next(); !step.done; step = await live.next()) rest.push(step.value);
    expect(rest).to.deep.equal([' whisk', ' and bake.']);

    await storedEntry(shared.client, suggest.keyFor('cake'));
    const replayed = aiCache({ redis: shared.client, model }, async function* (_prompt: string) {
      yield 'not cached';
    });
    expect(await collect(replayed('cake'))).to.deep.equal(['Recipe for cake:', ' whisk', ' and bake.']);
    expect(inferences).to.equal(1);
  });

  it('should replay byte chunks as the same types, for a function that resolves to a stream', async () => {
    const model = uniqueModel('bytes');
    async function* audio() {
      yield Buffer.from('RIFF');
      yield new Uint8Array([1, 2, 3]);
      yield 'text too';
    }
    const speak = aiCache({ redis: shared.client, model }, async (_text: string) => audio());
    expect(await collect(await speak('hi'))).to.have.length(3);
    await storedEntry(shared.client, speak.keyFor('hi'));
    const again = aiCache({ redis: shared.client, model }, async (_text: string) => audio());
    const chunks = await collect(await again('hi'));
    expect(Buffer.isBuffer(chunks[0])).to.equal(true);
    expect(chunks[0]).to.deep.equal(Buffer.from('RIFF'));
    expect(chunks[1]).to.be.instanceOf(Uint8Array);
    expect(Buffer.isBuffer(chunks[1])).to.equal(false);
    expect([...(chunks[1] as Uint8Array)]).to.deep.equal([1, 2, 3]);
    expect(chunks[2]).to.equal('text too');
  });

  it('should not store a stream the consumer abandoned, and close the source', async () => {
    const capture = captureEvents();
    let inferences = 0;
    let closed = false;
    const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async function* (_prompt: string) {
      inferences++;
      try {
        yield 'one';
        yield 'two';
        yield 'three';
      } finally {
        closed = true;
      }
    });
    try {
      for await (const chunk of suggest('q')) {
        expect(chunk).to.equal('one');
        break;
      }
      await waitFor(() => closed, { what: 'the source to close' });
      await waitFor(() => capture.events.some((e) => e.outcome === 'skip' && e.reason === 'stream-abandoned'), {
        what: 'the skip',
      });
      expect(await shared.client.exists(suggest.keyFor('q'))).to.equal(0);
      expect(await collect(suggest('q'))).to.deep.equal(['one', 'two', 'three']);
      expect(inferences).to.equal(2);
    } finally {
      capture.stop();
    }
  });

  it('should not store a stream that failed, and pass the failure on', async () => {
    let inferences = 0;
    const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async function* (_prompt: string) {
      inferences++;
      yield 'partial';
      throw new Error('connection reset by the model provider');
    });
    const seen: string[] = [];
    await (async () => {
      for await (const chunk of suggest('q')) seen.push(chunk);
    })().then(
      () => expect.fail('the stream did not fail'),
      (error: Error) => expect(error.message).to.equal('connection reset by the model provider'),
    );
    expect(seen).to.deep.equal(['partial']);
    // Nothing was stored: the next call runs the model again (and fails again).
    const retry = await collect(suggest('q')).then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    expect(retry).to.equal('connection reset by the model provider');
    expect(inferences).to.equal(2);
    expect(await shared.client.exists(suggest.keyFor('q'))).to.equal(0);
  });

  it('should give concurrent identical streaming calls every chunk from one inference', async () => {
    const gate = deferred();
    let inferences = 0;
    const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async function* (_prompt: string) {
      inferences++;
      yield 'a';
      await gate.promise;
      yield 'b';
    });
    const first = suggest('q')[Symbol.asyncIterator]();
    expect((await first.next()).value).to.equal('a');
    const second = collect(suggest('q'));
    gate.resolve();
    const rest: string[] = [];
    for (let step = await first.next(); !step.done; step = await first.next()) rest.push(step.value);
    expect(rest).to.deep.equal(['b']);
    expect(await second).to.deep.equal(['a', 'b']);
    expect(inferences).to.equal(1);
  });

  it('should ask shouldCache about the complete list of chunks', async () => {
    let judged: string[] | undefined;
    const suggest = aiCache(
      {
        redis: shared.client,
        model: uniqueModel(),
        shouldCache: (chunks: string[]) => {
          judged = chunks;
          return false;
        },
      },
      async function* (_prompt: string) {
        yield 'x';
        yield 'y';
      },
    );
    expect(await collect(suggest('q'))).to.deep.equal(['x', 'y']);
    await waitFor(() => judged, { what: 'shouldCache' });
    expect(judged).to.deep.equal(['x', 'y']);
    expect(await shared.client.exists(suggest.keyFor('q'))).to.equal(0);
  });
});

describe('aiCache() with a streamed result nobody reads', () => {
  let client: RedisClient;
  let other: RedisClient;

  before(async () => {
    const redis = await sharedStandalone();
    client = redis.client();
    other = redis.client();
  });

  after(async () => {
    for (const c of [client, other]) {
      await resolveBackend({ redis: c }).close();
      c.disconnect();
    }
  });

  /** A model stream that counts its calls and its closes (as an SDK stream closes its HTTP connection). */
  function streamingModel(chunks: (call: number) => string[]) {
    const counts = { inferences: 0, closed: 0 };
    const fn = async (_prompt: string): Promise<AsyncIterable<string>> => {
      const call = ++counts.inferences;
      const queue = chunks(call);
      return {
        [Symbol.asyncIterator]: () => ({
          next: async () =>
            queue.length > 0 ? { done: false, value: queue.shift() as string } : { done: true, value: undefined },
          return: async () => {
            counts.closed++;
            return { done: true, value: undefined };
          },
        }),
      };
    };
    return { fn, counts };
  }

  it('should give up the recording after lockTtl without a pull: lock released, not stored, source closed', async () => {
    const capture = captureEvents();
    const { fn, counts } = streamingModel(() => ['one', 'two']);
    const suggest = aiCache({ redis: client, model: uniqueModel('idle'), lockTtl: '300ms', lockWait: '1m' }, fn);
    const lock = `${suggest.keyFor('q')}:lock`;
    try {
      // Awaited (say the HTTP client disconnected before the first chunk) but never iterated.
      const unread = await suggest('q');
      expect(await client.get(lock)).to.be.a('string');
      // Without the idle timer the holder keeps renewing its lock for lockWait (1 min): nobody else computes.
      await waitFor(async () => (await client.exists(lock)) === 0, { what: 'the lock to be released' });
      await waitFor(() => capture.events.some((e) => e.outcome === 'skip' && e.reason === 'stream-idle'), {
        what: 'the skip',
      });
      expect(counts.closed).to.equal(1);
      expect(await client.exists(suggest.keyFor('q'))).to.equal(0);
      // The flight left the in-process map: an identical call here runs (and stores) a new inference.
      expect(await collect(await suggest('q'))).to.deep.equal(['one', 'two']);
      expect(counts.inferences).to.equal(2);
      await storedEntry(client, suggest.keyFor('q'));
      // Reading the given-up stream later fails rather than ending as if it were complete.
      const late = await collect(unread).then(
        () => 'complete',
        (error: Error & { code?: string }) => error.code,
      );
      expect(late).to.equal('E_AI_CACHE_STREAM_IDLE');
    } finally {
      capture.stop();
    }
  });

  it('should let another instance compute instead of waiting lockWait for an unread stream', async () => {
    const model = uniqueModel('idle-2');
    const { fn, counts } = streamingModel((call) => [`answer #${call}`]);
    const make = (redis: RedisClient) => aiCache({ redis, model, lockTtl: '300ms', lockWait: '1m' }, fn);
    await make(client)('q'); // never iterated
    // B finds A's lock, waits, and takes over once A gives up (not after lockWait).
    expect(await collect(await make(other)('q'))).to.deep.equal(['answer #2']);
    expect(counts.inferences).to.equal(2);
  });

  it('should not give up while the source is slow to produce the next chunk', async () => {
    const gate = deferred();
    let renewals = 0;
    const stop = onEvent((event) => {
      if (event.kind === 'redis' && event.operation === 'rmwLockRenew') renewals++;
    });
    const suggest = aiCache(
      { redis: client, model: uniqueModel('slow'), lockTtl: '150ms' },
      async function* (_prompt: string) {
        yield 'thinking…';
        await gate.promise;
        yield ' done';
      },
    );
    try {
      const live = suggest('q')[Symbol.asyncIterator]();
      expect((await live.next()).value).to.equal('thinking…');
      const second = live.next(); // the consumer waits on the model
      // Renewed every 50 ms: six renewals is twice the idle time with a pull outstanding.
      await waitFor(() => renewals >= 6, { what: 'the lock renewed while the model is slow' });
      gate.resolve();
      expect(await second).to.deep.equal({ done: false, value: ' done' });
      expect((await live.next()).done).to.equal(true);
      await storedEntry(client, suggest.keyFor('q'));
    } finally {
      stop();
    }
  });
});
