import { expect } from 'chai';
import { aiCache } from '../lib/ai-cache';
import { type RedisClient, resolveBackend } from '../lib/redis';
import { captureEvents, deferred, storedEntry, uniqueModel } from './fixtures/ai-cache-helpers';
import { sharedStandalone, waitFor } from './support';

async function collect<C>(stream: AsyncIterable<C>): Promise<C[]> {
  const chunks: C[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('aiCache() with streamed results', () => {
  let client: RedisClient;

  before(async () => {
    client = (await sharedStandalone()).client();
  });

  after(async () => {
    await resolveBackend({ redis: client }).close();
    client.disconnect();
  });

  it('should pass chunks through as they arrive, store the complete stream and replay it', async () => {
    const model = uniqueModel('stream');
    const gate = deferred();
    let inferences = 0;
    const suggest = aiCache({ redis: client, model }, async function* (prompt: string) {
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

    await storedEntry(client, suggest.keyFor('cake'));
    const replayed = aiCache({ redis: client, model }, async function* (_prompt: string) {
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
    const speak = aiCache({ redis: client, model }, async (_text: string) => audio());
    expect(await collect(await speak('hi'))).to.have.length(3);
    await storedEntry(client, speak.keyFor('hi'));
    const again = aiCache({ redis: client, model }, async (_text: string) => audio());
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
    const suggest = aiCache({ redis: client, model: uniqueModel() }, async function* (_prompt: string) {
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
      await waitFor(() => capture.events.some((e) => e.reason === 'stream-abandoned'), { what: 'the skip' });
      expect(await client.exists(suggest.keyFor('q'))).to.equal(0);
      expect(await collect(suggest('q'))).to.deep.equal(['one', 'two', 'three']);
      expect(inferences).to.equal(2);
    } finally {
      capture.stop();
    }
  });

  it('should not store a stream that failed, and pass the failure on', async () => {
    let inferences = 0;
    const suggest = aiCache({ redis: client, model: uniqueModel() }, async function* (_prompt: string) {
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
    expect(await client.exists(suggest.keyFor('q'))).to.equal(0);
  });

  it('should give concurrent identical streaming calls every chunk from one inference', async () => {
    const gate = deferred();
    let inferences = 0;
    const suggest = aiCache({ redis: client, model: uniqueModel() }, async function* (_prompt: string) {
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
        redis: client,
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
    expect(await client.exists(suggest.keyFor('q'))).to.equal(0);
  });
});
