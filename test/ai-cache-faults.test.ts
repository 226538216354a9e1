import { expect } from 'chai';
import { aiCache } from '../lib/ai-cache';
import { createRedis, type RedisClient, resolveBackend } from '../lib/redis';
import { captureEvents, deferred, storedEntry, tracked, uniqueModel, waitingOnLock } from './fixtures/ai-cache-helpers';
import { type RedisCluster, Standalone, sharedCluster, waitFor } from './support';

describe('aiCache() when Redis fails', function () {
  this.timeout(60_000);
  let redis: Standalone;
  let client: RedisClient;
  let observer: RedisClient;

  before(async () => {
    redis = await Standalone.start();
    client = redis.client({ commandTimeout: 300 });
    observer = redis.client();
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

  describe('when a lock of this process was left behind by a fault', function () {
    // Under the bug each of these waited for the leftover lock: lockWait (1 min) at worst.
    this.timeout(15_000);

    /** A cached function that reports which lock token was in Redis while its inference ran. */
    function watched(gate?: Promise<void>) {
      const ran: Array<string | null> = [];
      const suggest = aiCache(
        { redis: client, redisTimeout: 300, model: uniqueModel('leftover'), lockTtl: '1m', lockWait: '1m' },
        async (q: string) => {
          // Looked up on a connection of its own: a paused write on `client` holds up its later commands too.
          ran.push(await observer.get(`${suggest.keyFor(q)}:lock`));
          await gate;
          return `answer ${q} #${ran.length}`;
        },
      );
      return { suggest, ran, lock: (q: string) => `${suggest.keyFor(q)}:lock` };
    }

    const backend = () => resolveBackend({ redis: client, redisTimeout: 300 });

    it('should not wait on a lock whose SET NX timed out but took effect', async () => {
      const { suggest, ran, lock } = watched();
      // Writes wait for 1 s: the SET NX times out here (300 ms) and is applied by Redis afterwards.
      await redis.node.command('CLIENT', 'PAUSE', 1000, 'WRITE');
      expect(await suggest('q')).to.equal('answer q #1');
      const leftover = await waitFor(() => observer.get(lock('q')), { what: 'the late SET NX to land' });
      await waitFor(() => !backend().isDown(), { what: 'the breaker to close' });

      expect(await suggest('q')).to.equal('answer q #2');
      // It ran under a lock of its own: this process's leftover was deleted, not waited for.
      expect(ran[1]).to.be.a('string').and.not.equal(leftover);
      await storedEntry(client, suggest.keyFor('q'));
    });

    it('should not wait on a lock whose release failed', async () => {
      const gate = deferred();
      const { suggest, ran, lock } = watched(gate.promise);
      // A short entry TTL: the entry written once the pause ends expires, the leftover lock (1 min) does not.
      const first = suggest.with({ ttl: '200ms' })('q');
      await waitFor(() => ran.length === 1, { what: 'the first inference' });
      const held = await client.get(lock('q'));
      expect(held).to.be.a('string');
      // The entry's SET times out (the breaker opens), so the release fails fast and never reaches Redis.
      await redis.node.command('CLIENT', 'PAUSE', 1000, 'WRITE');
      gate.resolve();
      expect(await first).to.equal('answer q #1');
      await waitFor(async () => !backend().isDown() && (await client.exists(suggest.keyFor('q'))) === 0, {
        what: 'the breaker to close and the entry to expire',
      });
      expect(await client.get(lock('q'))).to.equal(held);

      expect(await suggest('q')).to.equal('answer q #2');
      expect(ran[1]).to.be.a('string').and.not.equal(held);
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

  describe('when an invalidation cannot reach Redis', () => {
    /** A client whose user may read and write but not DEL: the invalidation fails with NOPERM. */
    let noDel: RedisClient;
    const user = `ai-nodel-${Date.now()}`;
    before(async () => {
      await observer.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-del');
      noDel = createRedis(redis.url.replace('redis://', `redis://${user}:pw@`));
      noDel.on('error', () => undefined);
    });
    after(async () => {
      noDel.disconnect();
      await observer.call('ACL', 'DELUSER', user);
    });

    it('should run the function for that entry until the background retry deletes it, with one warning line', async () => {
      let inferences = 0;
      const suggest = aiCache(
        { redis: noDel, model: uniqueModel('nodel') },
        async (q: string) => `v${++inferences} ${q}`,
      );
      expect(await suggest('soup')).to.equal('v1 soup');
      await storedEntry(observer, suggest.keyFor('soup'));
      expect(await suggest('soup'), 'a hit').to.equal('v1 soup');
      const lines: string[] = [];
      const warn = console.warn;
      console.warn = (line: string) => lines.push(line);
      try {
        expect(await suggest.invalidate('soup'), 'the delete failed').to.equal(false);
        expect(await suggest.invalidate('soup')).to.equal(false);
        expect(await suggest('soup'), 'not the old entry').to.equal('v2 soup');
        await observer.call('ACL', 'SETUSER', user, '+del');
        await waitFor(async () => (await observer.exists(suggest.keyFor('soup'))) === 0, {
          what: 'the retry to delete the entry',
        });
      } finally {
        console.warn = warn;
      }
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/W_AI_CACHE_INVALIDATION_PENDING: could not invalidate ai:/);
      expect(await suggest('soup'), 'the cache is used again').to.equal('v3 soup');
      expect(await suggest('soup')).to.equal('v3 soup');
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
    const second = tracked(b({ dish: 'paella' }));
    // B found A's lock and waits on it: only A's release (not a cache hit) can answer it.
    await waitingOnLock(clients[1] as RedisClient, b.keyFor({ dish: 'paella' }));
    expect(second.settled()).to.equal(false);
    gate.resolve();
    const [x, y] = await Promise.all([first, second.promise]);
    expect(y).to.deep.equal(x);
    expect(inferences).to.equal(1);
    const entry = await storedEntry(clients[0] as RedisClient, a.keyFor({ dish: 'paella' }));
    expect(entry[1], 'compressed on the cluster too').to.equal(2);
    const fresh = make(clients[1] as RedisClient);
    expect(await fresh({ dish: 'paella' })).to.deep.equal(x);
    expect(inferences).to.equal(1);
  });

  it('should announce a release from the lock script to subscribers on any node', async () => {
    const listener = cluster.client();
    const announced: string[] = [];
    await listener.subscribe('ai:released');
    listener.on('message', (_channel: string, message: string) => announced.push(message));
    try {
      const suggest = aiCache(
        { redis: clients[0] as RedisClient, model: uniqueModel('announce') },
        async (q: string) => `answer ${q}`,
      );
      // Keys in several slots, so the script (and its PUBLISH) runs on several primaries.
      const questions = ['a', 'b', 'c', 'd', 'e', 'f'];
      for (const q of questions) await suggest(q);
      const keys = questions.map((q) => suggest.keyFor(q));
      await waitFor(() => keys.every((key) => announced.includes(key)), { what: 'every release announced' });
    } finally {
      listener.disconnect();
    }
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
