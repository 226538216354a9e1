import { expect } from 'chai';
import { aiCache } from '../lib/ai-cache';
import { type RedisClient, resolveBackend } from '../lib/redis';
import { captureEvents, deferred, storedEntry, uniqueModel } from './fixtures/ai-cache-helpers';
import { type RedisCluster, Standalone, sharedCluster, waitFor } from './support';

describe('aiCache() when Redis fails', function () {
  this.timeout(60_000);
  let redis: Standalone;
  let client: RedisClient;

  before(async () => {
    redis = await Standalone.start();
    client = redis.client({ commandTimeout: 300 });
  });

  after(async () => {
    await resolveBackend({ redis: client, redisTimeout: 300 }).close();
    await redis.stop();
  });

  function counted() {
    let inferences = 0;
    const suggest = aiCache(
      { redis: client, redisTimeout: 300, model: uniqueModel() },
      async (q: string) => `answer ${q} #${++inferences}`,
    );
    return { suggest, inferences: () => inferences };
  }

  describe('when Redis is stopped', () => {
    after(async () => {
      if (!redis.node.isRunning) await redis.node.restart();
    });

    it('should run the inference directly, share it between concurrent calls, and never throw', async () => {
      const { suggest, inferences } = counted();
      await redis.node.kill();
      const capture = captureEvents();
      try {
        const answers = await Promise.all(Array.from({ length: 10 }, () => suggest('q')));
        expect(new Set(answers)).to.deep.equal(new Set(['answer q #1']));
        expect(await suggest('r')).to.equal('answer r #2');
        expect(inferences()).to.equal(2);
        expect(capture.events.filter((e) => e.outcome === 'bypass').length).to.be.at.least(11);
      } finally {
        capture.stop();
      }
    });

    it('should cache again once Redis is back', async () => {
      const { suggest, inferences } = counted();
      if (redis.node.isRunning) await redis.node.kill();
      await suggest('q');
      await redis.node.restart();
      await waitFor(
        async () => {
          await suggest('q');
          return (await client.exists(suggest.keyFor('q')).catch(() => 0)) === 1;
        },
        { what: 'an entry written after the restart' },
      );
      const before = inferences();
      await suggest('q');
      expect(inferences()).to.equal(before);
    });
  });

  describe('when Redis is frozen', () => {
    it('should answer within the Redis time bound by calling the model', async () => {
      const { suggest, inferences } = counted();
      redis.node.freeze();
      try {
        expect(await suggest('frozen')).to.equal('answer frozen #1');
        expect(await suggest('frozen again')).to.equal('answer frozen again #2');
        expect(inferences()).to.equal(2);
      } finally {
        redis.node.resume();
      }
    });
  });
});

describe('aiCache() on Redis Cluster', function () {
  this.timeout(90_000);
  let cluster: RedisCluster;
  let clients: RedisClient[];

  before(async () => {
    cluster = await sharedCluster();
    clients = [cluster.client(), cluster.client()];
  });

  after(async () => {
    for (const c of clients) await resolveBackend({ redis: c }).close();
  });

  it('should share one inference between instances on separate connections, then hit', async () => {
    const model = uniqueModel('cluster');
    const gate = deferred();
    let inferences = 0;
    const make = (redis: RedisClient) =>
      aiCache({ redis, model, lockTtl: '2s' }, async (input: { dish: string }) => {
        inferences++;
        await gate.promise;
        return { recipe: `${input.dish} (${'long text '.repeat(200)})` };
      });
    const [a, b] = clients.map(make) as [ReturnType<typeof make>, ReturnType<typeof make>];
    const first = a({ dish: 'paella' });
    await waitFor(() => inferences > 0, { what: 'the first inference' });
    const second = b({ dish: 'paella' });
    gate.resolve();
    const [x, y] = await Promise.all([first, second]);
    expect(y).to.deep.equal(x);
    expect(inferences).to.equal(1);
    const entry = await storedEntry(clients[0] as RedisClient, a.keyFor({ dish: 'paella' }));
    expect(entry[1], 'compressed on the cluster too').to.equal(2);
    const fresh = make(clients[1] as RedisClient);
    expect(await fresh({ dish: 'paella' })).to.deep.equal(x);
    expect(inferences).to.equal(1);
  });

  it('should store and replay a stream', async () => {
    const model = uniqueModel('cluster-stream');
    const make = (redis: RedisClient) =>
      aiCache({ redis, model }, async function* (prompt: string) {
        yield `${prompt}: `;
        yield 'done';
      });
    const writer = make(clients[0] as RedisClient);
    const chunks: string[] = [];
    for await (const chunk of writer('soup')) chunks.push(chunk);
    await storedEntry(clients[0] as RedisClient, writer.keyFor('soup'));
    const replayed: string[] = [];
    for await (const chunk of make(clients[1] as RedisClient)('soup')) replayed.push(chunk);
    expect(replayed).to.deep.equal(chunks);
  });
});
