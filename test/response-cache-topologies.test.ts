import { expect } from 'chai';
import type express from 'express';
import request from 'supertest';
import type { RedisClient } from '../lib/redis';
import { createApp, expectHit, expectMiss, jsonCall, uniquePath } from './fixtures/response-cache-app';
import { type RedisCluster, type SentinelGroup, Standalone, sharedCluster, sharedSentinel, waitFor } from './support';

/** The same behaviour on every production topology. */
function behavesOn(topology: () => Promise<RedisCluster | SentinelGroup>): void {
  let redis: RedisClient;
  let other: RedisClient;
  before(async () => {
    const started = await topology();
    redis = started.client();
    other = started.client();
  });

  it('should miss, then hit through Redis', async () => {
    const path = uniquePath('topo');
    const { app, origin } = createApp({ redis, localTtl: 0 }, path, jsonCall);
    expectMiss(await request(app).get(path));
    await waitFor(async () => (await request(app).get(path)).headers['x-cache'] === 'HIT', { what: 'a hit' });
    expect(origin.calls).to.equal(1);
  });

  it('should invalidate tags whose indexes live in other slots, seen by another instance', async () => {
    const base = uniquePath('topotags');
    const options = { tags: (req: express.Request) => [`item:${req.params.id}`, 'items'] };
    const a = createApp({ ...options, redis, localTtl: '1m' }, `${base}/:id`, jsonCall);
    const b = createApp({ ...options, redis: other, localTtl: '1m' }, `${base}/:id`, jsonCall);
    await request(a.app).get(`${base}/1`);
    await request(a.app).get(`${base}/2`);
    await waitFor(async () => (await request(b.app).get(`${base}/2`)).headers['x-cache'] === 'HIT', {
      what: 'instance B hitting',
    });
    expect(await a.cache.invalidate({ tags: ['items'] })).to.equal(2);
    await waitFor(async () => (await request(b.app).get(`${base}/2`)).headers['x-cache'] === 'MISS', {
      what: 'instance B seeing the invalidation',
    });
  });

  it('should run the handler once for concurrent misses on two instances', async () => {
    const path = uniquePath('topoflight');
    const a = createApp({ redis, localTtl: 0 }, path, jsonCall);
    const b = createApp({ redis: other, localTtl: 0 }, path, jsonCall);
    a.origin.close();
    const first = request(a.app)
      .get(path)
      .then((res) => res);
    await waitFor(() => a.origin.calls === 1, { what: 'instance A filling' });
    const fromB = Promise.all(Array.from({ length: 5 }, () => request(b.app).get(path)));
    a.origin.open();
    await first;
    for (const res of await fromB) expect(res.body.call).to.equal(1);
    expect(a.origin.calls + b.origin.calls).to.equal(1);
  });
}

describe('responseCache() on production topologies', function () {
  this.timeout(90_000);

  describe('on Redis Cluster', () => behavesOn(sharedCluster));
  describe('on Redis Sentinel', () => behavesOn(sharedSentinel));

  describe('when Redis stops mid-run', () => {
    let standalone: Standalone;
    let redis: RedisClient;
    before(async () => {
      standalone = await Standalone.start();
      redis = standalone.client({ commandTimeout: 200 });
    });
    after(() => standalone.stop());

    it('should serve from the handler with X-Cache: BYPASS within the bound, and resume when Redis returns', async () => {
      const path = uniquePath('down');
      const { app, origin } = createApp({ redis, redisTimeout: '200ms' }, path, jsonCall);
      expectMiss(await request(app).get(path));
      expectHit(await request(app).get(path));
      await standalone.node.kill();
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const res = await request(app).get(path).expect(200);
        expect(res.headers['x-cache']).to.equal('BYPASS');
        expect(Date.now() - started).to.be.lessThan(2000);
      }
      const callsWhileDown = origin.calls;
      expect(callsWhileDown).to.equal(4);
      await standalone.node.restart();
      await waitFor(async () => (await request(app).get(path)).headers['x-cache'] === 'MISS', {
        what: 'the cache to be used again',
      });
      await waitFor(async () => (await request(app).get(path)).headers['x-cache'] === 'HIT', { what: 'a hit again' });
    });

    it('should bypass a frozen Redis within redisTimeout', async () => {
      const path = uniquePath('frozen');
      const { app } = createApp({ redis, redisTimeout: '200ms', localTtl: 0 }, path, jsonCall);
      await waitFor(async () => (await request(app).get(path)).headers['x-cache'] === 'MISS', { what: 'Redis back' });
      standalone.node.freeze();
      try {
        // The first request pays one redisTimeout (200 ms), the next ones fail fast on the circuit breaker.
        for (let i = 0; i < 3; i++) {
          const started = Date.now();
          const res = await request(app).get(path).expect(200);
          expect(res.headers['x-cache']).to.equal('BYPASS');
          expect(Date.now() - started, `request ${i + 1} while Redis is frozen`).to.be.lessThan(2000);
        }
      } finally {
        standalone.node.resume();
      }
      await waitFor(async () => (await request(app).get(path)).headers['x-cache'] === 'HIT', { what: 'a hit again' });
    });
  });
});
