import { expect } from 'chai';
import { Cluster, type Redis } from 'ioredis';
import { createRedis } from '../lib/redis';
import { RedisNode, Standalone, sharedCluster, sharedSentinel, waitFor } from './support';

/** Resolves to how long `promise` took to settle and how it settled. */
async function settle(promise: Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const started = Date.now();
  try {
    await promise;
    return { ms: Date.now() - started };
  } catch (error) {
    return { ms: Date.now() - started, error: error as Error };
  }
}

describe('createRedis()', () => {
  describe('options', () => {
    it('should refuse a target that is neither a URL, Sentinel nor Cluster', () => {
      expect(() => createRedis('http://example' as string)).to.throw(TypeError, /redis:\/\/ or rediss:\/\//);
      expect(() => createRedis({} as never)).to.throw(TypeError, /target must be a redis:\/\/ URL/);
    });

    it('should refuse a db on Redis Cluster with a TypeError', () => {
      expect(() => createRedis({ cluster: ['127.0.0.1:7000'] }, { db: 2 })).to.throw(
        TypeError,
        /db option cannot be used with Redis Cluster/,
      );
    });

    it('should refuse bad durations, db numbers and host lists', () => {
      expect(() => createRedis('redis://x', { commandTimeout: 'soon' as never })).to.throw(
        TypeError,
        /commandTimeout option must be a duration/,
      );
      expect(() => createRedis('redis://x', { db: -1 })).to.throw(TypeError, /db option must be a whole number/);
      expect(() => createRedis({ sentinels: 'nohost', name: 'm' })).to.throw(TypeError, /sentinels option/);
      expect(() => createRedis({ sentinels: '127.0.0.1:26379', name: '' })).to.throw(TypeError, /name option/);
    });
  });

  describe('fromEnv()', () => {
    const make = (env: NodeJS.ProcessEnv) => {
      const client = createRedis.fromEnv({}, { ...env });
      client?.disconnect();
      return client;
    };

    it('should return undefined when no Redis is configured', () => {
      expect(make({})).to.equal(undefined);
    });

    it('should read REDIS_URL with its db', () => {
      const client = make({ REDIS_URL: 'redis://127.0.0.1:1/3' }) as Redis;
      expect(client.options.db).to.equal(3);
      expect(client.options.port).to.equal(1);
    });

    it('should let REDIS_SENTINELS and REDIS_CLUSTER_NODES win over REDIS_URL', () => {
      const sentinel = make({
        REDIS_URL: 'redis://127.0.0.1:1',
        REDIS_SENTINELS: '127.0.0.1:26379,[::1]:26380',
        REDIS_SENTINEL_NAME: 'mymaster',
      }) as Redis;
      expect(sentinel.options.name).to.equal('mymaster');
      expect(sentinel.options.sentinels).to.deep.equal([
        { host: '127.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
      ]);
      const cluster = make({
        REDIS_URL: 'redis://127.0.0.1:1',
        REDIS_SENTINELS: '127.0.0.1:26379',
        REDIS_SENTINEL_NAME: 'm',
        REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001',
      });
      expect(cluster).to.be.instanceOf(Cluster);
    });

    it('should require REDIS_SENTINEL_NAME with REDIS_SENTINELS', () => {
      expect(() => make({ REDIS_SENTINELS: '127.0.0.1:26379' })).to.throw(TypeError, /REDIS_SENTINEL_NAME/);
    });
  });

  describe('on a standalone Redis', () => {
    let redis: Standalone;
    before(async () => {
      redis = await Standalone.start();
    });
    after(() => redis.stop());

    it('should use the logical database it is given, the option winning over the URL', async () => {
      const viaUrl = redis.client() as Redis;
      const dbTwo = createRedis(`${redis.url}/1`, { db: 2 }) as Redis;
      try {
        await dbTwo.set('where', 'db2');
        await viaUrl.set('where', 'db0');
        expect(await redis.node.command('SELECT', 2)).to.equal('OK');
        expect(dbTwo.options.db).to.equal(2);
        expect(await dbTwo.get('where')).to.equal('db2');
        expect(await viaUrl.get('where')).to.equal('db0');
      } finally {
        dbTwo.disconnect();
      }
    });

    it('should fail a command fast when Redis is stopped, and work again once it restarts', async () => {
      const client = redis.client({ commandTimeout: 300 });
      expect(await client.ping()).to.equal('PONG');
      await redis.node.kill();

      const whileDown = await settle(client.set('k', 'v'));
      expect(whileDown.error, 'a command to a stopped Redis must fail').to.be.instanceOf(Error);
      expect(whileDown.ms).to.be.below(2000);

      await redis.node.restart();
      await waitFor(async () => (await client.set('k', 'again')) === 'OK', { what: 'the same client to reconnect' });
      expect(await client.get('k')).to.equal('again');
    });

    it('should bound a command to a frozen Redis by commandTimeout', async () => {
      const client = redis.client({ commandTimeout: 200 });
      await client.ping();
      redis.node.freeze();
      try {
        const frozen = await settle(client.get('k'));
        expect(frozen.error?.message).to.match(/timed out/i);
        expect(frozen.ms).to.be.below(2000);
      } finally {
        redis.node.resume();
      }
      await waitFor(async () => (await client.ping()) === 'PONG', { what: 'PING after resume' });
    });

    it('should bound commands issued before Redis ever answered', async () => {
      const nowhere = await RedisNode.start();
      const url = nowhere.url;
      await nowhere.stop();
      const client = createRedis(url, { commandTimeout: 200 });
      client.on('error', () => undefined);
      try {
        const result = await settle(client.get('k'));
        expect(result.error).to.be.instanceOf(Error);
        expect(result.ms).to.be.below(2000);
      } finally {
        client.disconnect();
      }
    });
  });

  describe('on Sentinel', function () {
    this.timeout(60_000);
    it('should find the primary through the sentinels and honour db', async () => {
      const group = await sharedSentinel();
      const client = group.client({ db: 1 }) as Redis;
      await client.set('sentinel:db1', 'yes');
      const primary = await group.primary();
      await primary.command('SELECT', 1);
      expect(await client.get('sentinel:db1')).to.equal('yes');
      expect(client.options.db).to.equal(1);
    });
  });

  describe('on Cluster', function () {
    this.timeout(60_000);
    it('should route keys of every primary and run a multi-key script within one hash tag', async () => {
      const cluster = await sharedCluster();
      const client = cluster.client() as Cluster;
      const keys = Array.from({ length: 50 }, (_, i) => `create-redis:${i}`);
      await Promise.all(keys.map((k) => client.set(k, k, 'PX', 60_000)));
      expect(await Promise.all(keys.map((k) => client.get(k)))).to.deep.equal(keys);
      const sum = await client.eval(
        "return redis.call('INCR', KEYS[1]) + redis.call('INCR', KEYS[2])",
        2,
        'create-redis:{t}:a',
        'create-redis:{t}:b',
      );
      expect(sum).to.equal(2);
    });
  });
});
