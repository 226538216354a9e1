import { expect } from 'chai';
import request from 'supertest';
import type { ExampleApp } from '../example-server/app';
import { buildApp, expectProblem, sample, uniqueIp } from './example-server-helpers';
import { Standalone, waitFor } from './support';

describe('example server when its Redis goes down', function () {
  this.timeout(30_000);
  let redis: Standalone;
  /** The caches' Redis: freezing it alone leaves sessions working, so a logged-in PUT can run meanwhile. */
  let cacheRedis: Standalone;
  let example: ExampleApp;
  let ip: string;
  before(async () => {
    redis = await Standalone.start();
    cacheRedis = await Standalone.start();
    example = buildApp(redis.client(), { cacheRedis: cacheRedis.client() });
  });
  beforeEach(() => {
    ip = uniqueIp();
  });
  after(async () => {
    await example.close();
    await redis.stop();
    await cacheRedis.stop();
  });

  function client(): request.Agent {
    return request.agent(example.app).set('X-Forwarded-For', ip);
  }

  it("should answer GET /health 200 { redis: 'ok' }, then 503 { redis: 'down', reason } while Redis is stopped, then ok again", async () => {
    expect((await client().get('/health').expect(200)).body).to.deep.equal({ redis: 'ok' });
    await redis.node.kill();
    try {
      const down = await client().get('/health').expect(503);
      expect(down.body.redis).to.equal('down');
      expect(down.body.reason).to.match(/^sessions and limits: .*(ECONNREFUSED|not connected|closed)/i);
      expect(down.headers['content-type']).to.match(/^application\/json/);
    } finally {
      await redis.node.restart();
    }
    await waitFor(async () => (await client().get('/health')).status === 200, { what: '/health ok after restart' });
  });

  it("should answer 503 { redis: 'down' } naming the caches while their Redis is frozen (no answer at all)", async () => {
    cacheRedis.node.freeze();
    try {
      const res = await client().get('/health').expect(503);
      expect(res.body.redis).to.equal('down');
      expect(res.body.reason).to.match(/^caches: /);
    } finally {
      cacheRedis.node.resume();
    }
    await waitFor(async () => (await client().get('/health')).status === 200, { what: '/health ok after resume' });
  });

  it('should not serve a response cached before a PUT that was made while Redis was frozen', async () => {
    const before = (await client().get('/recipes/2').expect(200)).body.recipe;
    await waitFor(async () => (await client().get('/recipes/2')).headers['x-cache'] === 'HIT', {
      what: 'the recipe to be served from the response cache',
    });
    const editor = client();
    await editor.post('/auth/login').send({ username: 'editor' }).expect(200);
    cacheRedis.node.freeze();
    try {
      await editor
        .put('/recipes/2')
        .send({ minutes: before.minutes + 7 })
        .expect(200);
      // The invalidations-pending gauge says so (what RedisMiddlewareInvalidationsPending alerts on).
      const during = (await client().get('/metrics').expect(200)).text;
      expect(sample(during, 'redis_middleware_cache_invalidations_pending{cache="api"}')).to.be.greaterThan(0);
      expect(sample(during, 'redis_middleware_cache_invalidations_pending{cache="db"}')).to.be.greaterThan(0);
    } finally {
      cacheRedis.node.resume();
    }
    await waitFor(
      async () => {
        const text = (await client().get('/metrics').expect(200)).text;
        return (
          sample(text, 'redis_middleware_cache_invalidations_pending{cache="api"}') === 0 &&
          sample(text, 'redis_middleware_cache_invalidations_pending{cache="db"}') === 0
        );
      },
      { what: 'the pending invalidations to reach Redis' },
    );
    // Once the cache serves again (not BYPASS), it must serve the update, not the entry from before the PUT.
    const served = await waitFor(
      async () => {
        const res = await client().get('/recipes/2').expect(200);
        return res.headers['x-cache'] === 'BYPASS' ? undefined : res;
      },
      { what: 'the response cache to serve again once Redis answers' },
    );
    expect(served.body.recipe.minutes).to.equal(before.minutes + 7);
  });

  describe('while Redis is down (both servers)', () => {
    before(async () => {
      await redis.node.kill();
      await cacheRedis.node.kill();
    });
    after(async () => {
      await redis.node.restart();
      await cacheRedis.node.restart();
      await waitFor(async () => (await client().get('/health')).status === 200, { what: '/health ok' });
    });

    it('should still serve recipes from the database (caches fail open)', async () => {
      expect((await client().get('/recipes/1').expect(200)).body.recipe.id).to.equal(1);
      await client().get('/recipes?cuisine=french').expect(200);
    });

    it('should answer a PUT with 503 problem+json (no session to say who is editing)', async () => {
      expectProblem(await client().put('/recipes/1').send({ minutes: 26 }), 503);
    });

    it('should still answer suggestions from the model', async () => {
      const res = await client()
        .post('/ai/suggest')
        .send({ ingredients: ['down'] })
        .expect(200);
      expect(res.body.suggestions).to.have.length(3);
    });

    it('should answer a login with 503 problem+json and Retry-After (sessions unavailable)', async () => {
      const res = await client().post('/auth/login').send({ username: 'nobody' });
      expectProblem(res, 503);
      expect(res.headers['retry-after']).to.equal('1');
    });
  });
});
