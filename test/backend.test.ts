import { expect } from 'chai';
import { createRedis } from '../lib/redis';
import { Standalone, sharedCluster, sharedStandalone, waitFor } from './support';
import {
  type Backend,
  defineScript,
  MemoryBackend,
  RedisBackend,
  RedisUnavailableErrorCode,
  resolveBackend,
} from './support/backend-fixtures';

/** A script with a memory twin: adds ARGV[1] to a counter kept with a TTL, returns the new value. */
const addToCounter = defineScript<number>({
  name: 'rmwTestAddToCounter',
  lua: `
    local value = redis.call('INCRBY', KEYS[1], ARGV[1])
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return value`,
  memory(store, keys, args) {
    const key = keys[0] as string;
    const value = Number(store.get(key) ?? 0) + Number(args[0]);
    store.set(key, value, Number(args[1]));
    return value;
  },
});

let unique = 0;
const key = (name: string) => `backend-test:{${name}}:${process.pid}:${++unique}`;

function contract(name: string, makeBackend: () => Promise<Backend>) {
  describe(name, () => {
    let backend: Backend;
    before(async () => {
      backend = await makeBackend();
    });

    it('should get what was set, as bytes', async () => {
      const k = key('get');
      expect(await backend.get(k)).to.equal(null);
      await backend.set(k, Buffer.from([0, 1, 255]), 60_000);
      expect(await backend.get(k)).to.deep.equal(Buffer.from([0, 1, 255]));
    });

    it('should read several keys of one hash tag at once', async () => {
      const [a, b, absent] = [key('mget'), key('mget'), key('mget')].map((k) => k.replace(/\{[^}]*\}/, '{mget}'));
      await backend.set(a as string, 'A', 60_000);
      await backend.set(b as string, 'B', 60_000);
      const values = await backend.mget(a as string, b as string, absent as string);
      expect(values.map((v) => v?.toString() ?? null)).to.deep.equal(['A', 'B', null]);
    });

    it('should forget a value after its TTL', async () => {
      const k = key('ttl');
      await backend.set(k, 'short', 50);
      await waitFor(async () => (await backend.get(k)) === null, { what: 'the value to expire' });
    });

    it('should set only when absent', async () => {
      const k = key('nx');
      expect(await backend.setIfAbsent(k, 'first', 60_000)).to.equal(true);
      expect(await backend.setIfAbsent(k, 'second', 60_000)).to.equal(false);
      expect(String(await backend.get(k))).to.equal('first');
    });

    it('should delete keys from different hash tags and count them', async () => {
      const keys = [key('a'), key('b'), key('c')];
      await Promise.all(keys.slice(0, 2).map((k) => backend.set(k, 'x', 60_000)));
      expect(await backend.del(...keys)).to.equal(2);
      expect(await backend.get(keys[0] as string)).to.equal(null);
    });

    it('should run a script atomically with the same result as its memory twin', async () => {
      const k = key('script');
      const results = await Promise.all(Array.from({ length: 20 }, () => backend.run(addToCounter, [k], [2, 60_000])));
      expect([...results].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 20 }, (_, i) => (i + 1) * 2));
    });

    it('should deliver published messages to subscribers until they unsubscribe', async () => {
      const channel = key('channel');
      const received: string[] = [];
      const unsubscribe = await backend.subscribe(channel, (message) => received.push(message));
      await backend.publish(channel, 'one');
      await waitFor(() => received.length === 1, { what: 'the first message' });
      await unsubscribe();
      await backend.publish(channel, 'two');
      await backend.publish(key('other'), 'noise');
      expect(received).to.deep.equal(['one']);
    });
  });
}

describe('backends', () => {
  contract('memory backend', async () => new MemoryBackend());
  contract('Redis backend on standalone', async () => resolveBackend({ redis: (await sharedStandalone()).client() }));
  contract('Redis backend on Cluster', async () => resolveBackend({ redis: (await sharedCluster()).client() }));

  describe('resolveBackend()', () => {
    it('should refuse something that is not an ioredis client', () => {
      expect(() => resolveBackend({ redis: {} as never })).to.throw(TypeError, /redis option must be an ioredis/);
      expect(() => resolveBackend({ redis: null as never })).to.throw(TypeError, /redis option must be an ioredis/);
    });

    it('should refuse a bad redisTimeout', () => {
      expect(() => resolveBackend({ redisTimeout: 'later' as never })).to.throw(TypeError, /redisTimeout option/);
    });

    it('should share one backend per client and time bound', async () => {
      const client = (await sharedStandalone()).client();
      expect(resolveBackend({ redis: client })).to.equal(resolveBackend({ redis: client, redisTimeout: 500 }));
      expect(resolveBackend({ redis: client })).to.be.instanceOf(RedisBackend);
    });
  });

  describe('Redis backend subscriber connection', () => {
    it('should close the connection it opened when the application quits its client', async () => {
      const redis = await sharedStandalone();
      const client = createRedis(redis.url);
      const backend = new RedisBackend(client, 500);
      await backend.subscribe(key('quit'), () => undefined);
      const subscriber = (backend as unknown as { subscriber: { status: string } }).subscriber;
      expect(subscriber.status).to.equal('ready');
      await client.quit();
      await waitFor(() => subscriber.status === 'end', { what: 'the subscriber connection to end' });
    });
  });

  describe('Redis backend when Redis fails', () => {
    it('should subscribe for real after a SUBSCRIBE that failed while Redis was down', async () => {
      const redis = await Standalone.start();
      try {
        const backend = new RedisBackend(redis.client({ commandTimeout: 200 }), 200);
        await redis.node.kill();
        const failed = await backend
          .subscribe('boot-channel', () => undefined)
          .then(
            () => 'subscribed',
            () => 'failed',
          );
        expect(failed).to.equal('failed');
        await redis.node.restart();
        const received: string[] = [];
        await waitFor(
          () =>
            backend
              .subscribe('boot-channel', (m) => received.push(m))
              .then(
                () => true,
                () => false,
              ),
          { what: 'a subscription once Redis is back' },
        );
        await waitFor(
          async () => {
            await redis.node.command('PUBLISH', 'boot-channel', 'hello');
            return received.includes('hello');
          },
          { what: 'a message on the channel' },
        );
      } finally {
        await redis.stop();
      }
    });

    let redis: Standalone;
    beforeEach(async () => {
      redis = await Standalone.start();
    });
    afterEach(() => redis.stop());

    it('should fail fast while Redis is stopped and recover when it restarts', async () => {
      const backend = resolveBackend({ redis: redis.client(), redisTimeout: 300 });
      await backend.set('k', 'v', 60_000);
      await redis.node.kill();
      const started = Date.now();
      const error = await backend.get('k').then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      expect(error?.code).to.be.oneOf(['E_REDIS_TIMEOUT', RedisUnavailableErrorCode]);
      expect(Date.now() - started).to.be.below(2000);
      await redis.node.restart();
      await waitFor(async () => (await backend.setIfAbsent('k2', 'v', 60_000)) === true, {
        what: 'the backend to work again',
      });
    });

    it('should answer at most one call slowly while Redis is frozen, then fail fast', async () => {
      const backend = resolveBackend({ redis: redis.client(), redisTimeout: 300 });
      await backend.get('warm');
      redis.node.freeze();
      try {
        const first = await backend.get('k').catch((e: Error & { code?: string }) => e);
        expect((first as { code?: string }).code).to.equal('E_REDIS_TIMEOUT');
        expect(backend.isDown()).to.equal(true);
        const second = await backend.get('k').catch((e: Error & { code?: string }) => e);
        expect((second as { code?: string }).code).to.equal(RedisUnavailableErrorCode);
      } finally {
        redis.node.resume();
      }
      await waitFor(async () => (await backend.get('k').catch(() => 'down')) === null, { what: 'recovery' });
    });

    it('should reload its script after the script cache is flushed (NOSCRIPT)', async () => {
      const backend = resolveBackend({ redis: redis.client() });
      const k = key('noscript');
      expect(await backend.run(addToCounter, [k], [1, 60_000])).to.equal(1);
      await redis.node.command('SCRIPT', 'FLUSH');
      expect(await backend.run(addToCounter, [k], [1, 60_000])).to.equal(2);
    });
  });
});
