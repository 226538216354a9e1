import { expect } from 'chai';
import request from 'supertest';
import type { ExampleApp } from '../example-server/app';
import type { RedisClient } from '../lib/redis';
import { buildApp, expectProblem, sample, uniqueIp } from './example-server-helpers';
import { sharedStandalone } from './support';

/** The example server's own logical database on the shared Redis, flushed before the suite. */
const TEST_DB = 13;

describe('example server (on Redis)', function () {
  this.timeout(20_000);
  let redis: RedisClient;
  let example: ExampleApp;
  let ip: string;
  before(async () => {
    redis = (await sharedStandalone()).client({ db: TEST_DB });
    await redis.flushdb();
    example = buildApp(redis);
  });
  beforeEach(() => {
    ip = uniqueIp();
  });
  after(() => example.close());

  /** A supertest agent (keeps cookies) from this test's client IP. */
  function client(): request.Agent {
    return request.agent(example.app).set('X-Forwarded-For', ip);
  }

  /** An agent from this test's IP, logged in (PUT /recipes/:id is for logged-in users only). */
  async function editor(): Promise<request.Agent> {
    const agent = client();
    await agent.post('/auth/login').send({ username: 'editor' }).expect(200);
    return agent;
  }

  function sessionIdOf(res: request.Response): string {
    const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('sid='));
    expect(cookie, 'a sid cookie').to.be.a('string');
    const value = decodeURIComponent((cookie as string).split(';')[0]?.slice('sid='.length) ?? '');
    return value.slice(2, value.lastIndexOf('.'));
  }

  describe('POST /auth/login', () => {
    it('should answer 200 { user } and store the session in Redis under session:<id>', async () => {
      const res = await client().post('/auth/login').send({ username: 'ada' }).expect(200);
      expect(res.body).to.deep.equal({ user: { id: res.body.user.id, username: 'ada' } });
      expect(res.headers['set-cookie']?.[0])
        .to.match(/HttpOnly/i)
        .and.match(/SameSite=Lax/i);
      const stored = await redis.get(`session:${sessionIdOf(res)}`);
      expect(JSON.parse(stored as string).user).to.deep.equal(res.body.user);
    });

    it('should regenerate the session id at login and delete the old session', async () => {
      const agent = client();
      const first = sessionIdOf(await agent.post('/auth/login').send({ username: 'ada' }).expect(200));
      const second = sessionIdOf(await agent.post('/auth/login').send({ username: 'grace' }).expect(200));
      expect(second).not.to.equal(first);
      expect(await redis.exists(`session:${first}`)).to.equal(0);
      expect((await agent.get('/me').expect(200)).body.user.username).to.equal('grace');
    });

    it('should answer 400 problem+json naming the field for an invalid username', async () => {
      const res = await client().post('/auth/login').send({ username: 'no spaces allowed' });
      expectProblem(res, 400);
      expect(res.body.errors).to.deep.equal([
        { pointer: '/username', detail: 'must be 1-32 letters, digits, "_", "." or "-"' },
      ]);
      expectProblem(await client().post('/auth/login').send({}), 400);
      expectProblem(await client().post('/auth/login').send({ username: 'ada', admin: true }), 400);
    });

    it('should answer 400 for malformed JSON and 415 for a body that is not JSON', async () => {
      const bad = await client().post('/auth/login').set('Content-Type', 'application/json').send('{"username":');
      expectProblem(bad, 400);
      expect(bad.body.detail).to.equal('The request body is not valid JSON');
      expectProblem(await client().post('/auth/login').type('form').send('username=ada'), 415);
    });
  });

  describe('POST /auth/login limit', () => {
    it('should allow 60 logins a minute per IP, logged in or not, then answer 429 with Retry-After', async () => {
      const agent = client();
      for (let i = 0; i < 60; i++)
        await agent
          .post('/auth/login')
          .send({ username: `many-${i}` })
          .expect(200);
      const res = await agent.post('/auth/login').send({ username: 'one-more' });
      expectProblem(res, 429);
      expect(Number(res.headers['retry-after'])).to.be.within(1, 61);
      expect(res.headers['ratelimit-policy']).to.contain('"/auth/login-1m";q=60;w=60');
      // Another address has its own budget.
      await request
        .agent(example.app)
        .set('X-Forwarded-For', uniqueIp())
        .post('/auth/login')
        .send({ username: 'other' })
        .expect(200);
    });
  });

  describe('GET /me', () => {
    it('should answer 401 problem+json without a session', async () => {
      expectProblem(await client().get('/me'), 401);
    });
    it('should answer 200 { user } from the session', async () => {
      const agent = client();
      const { body } = await agent.post('/auth/login').send({ username: 'linus' }).expect(200);
      const me = await agent.get('/me').expect(200);
      expect(me.body).to.deep.equal({ user: body.user });
      expect(me.headers['cache-control']).to.equal('private, no-store');
    });
  });

  describe('POST /auth/logout', () => {
    it('should destroy the session: 204, its Redis key deleted, /me 401 again', async () => {
      const agent = client();
      const id = sessionIdOf(await agent.post('/auth/login').send({ username: 'ken' }).expect(200));
      const res = await agent.post('/auth/logout').expect(204);
      expect(res.headers['set-cookie']?.[0]).to.match(/^sid=;/);
      expect(await redis.exists(`session:${id}`)).to.equal(0);
      expectProblem(await agent.get('/me'), 401);
    });
    it('should answer 204 without a session too', async () => {
      await client().post('/auth/logout').expect(204);
    });
  });

  describe('GET /recipes', () => {
    it('should list the first page of the 50 seeded recipes', async () => {
      const res = await client().get('/recipes').expect(200);
      expect(res.body).to.include({ page: 1, pageSize: 10, total: 50, cuisine: null });
      expect(res.body.recipes).to.have.length(10);
      expect(res.body.recipes[0]).to.have.keys(['id', 'title', 'cuisine', 'minutes']);
    });

    it('should filter by cuisine and page', async () => {
      const res = await client().get('/recipes?cuisine=indian&page=2').expect(200);
      expect(res.body).to.include({ page: 2, total: 10, cuisine: 'indian' });
      expect(res.body.recipes).to.deep.equal([]);
      const first = await client().get('/recipes?cuisine=Japanese').expect(200);
      expect(first.body.recipes.map((r: { cuisine: string }) => r.cuisine)).to.deep.equal(Array(10).fill('japanese'));
    });

    it('should cache the query result in Redis under db:{recipes}:<hash>', async () => {
      await client().get('/recipes?cuisine=french').expect(200);
      const keys = await redis.keys('db:{recipes}:*');
      expect(keys.some((key) => /^db:\{recipes\}:[0-9a-f]{32}$/.test(key))).to.equal(true);
    });

    it('should answer 400 problem+json for an invalid page or cuisine', async () => {
      expectProblem(await client().get('/recipes?page=0'), 400);
      expectProblem(await client().get('/recipes?page=abc'), 400);
      expectProblem(await client().get('/recipes?cuisine=1%3B%20DROP'), 400);
    });
  });

  describe('response cache on the recipe routes', () => {
    it('should answer a miss, then a hit with ETag, Age and Cache-Control: no-cache (clients revalidate)', async () => {
      const miss = await client().get('/recipes?cuisine=french&page=1').expect(200);
      expect(miss.headers['x-cache']).to.equal('MISS');
      expect(miss.headers.etag).to.match(/^"/);
      expect(miss.headers['cache-control']).to.equal('no-cache');
      const hit = await client().get('/recipes?page=1&cuisine=french').expect(200);
      expect(hit.headers['x-cache']).to.equal('HIT');
      expect(hit.headers.etag).to.equal(miss.headers.etag);
      expect(Number(hit.headers.age)).to.be.within(0, 300);
      expect(hit.headers['cache-control']).to.equal('no-cache');
      expect(hit.body).to.deep.equal(miss.body);
      const keys = await redis.keys('api:{/recipes}:*');
      expect(keys.some((key) => /^api:\{\/recipes\}:[0-9a-f]{32}$/.test(key))).to.equal(true);
    });

    it('should answer If-None-Match with 304 and no body', async () => {
      const first = await client().get('/recipes/8').expect(200);
      const res = await client()
        .get('/recipes/8')
        .set('If-None-Match', first.headers.etag as string)
        .expect(304);
      expect(res.text ?? '').to.equal('');
      expect(res.headers.etag).to.equal(first.headers.etag);
    });

    it('should serve logged-in users from the same cached entry (the route ignores cookies)', async () => {
      await client().get('/recipes/9').expect(200);
      const agent = client();
      await agent.post('/auth/login').send({ username: 'cached' }).expect(200);
      const res = await agent.get('/recipes/9').expect(200);
      expect(res.headers['x-cache']).to.equal('HIT');
      expect(res.headers['set-cookie']).to.equal(undefined);
    });

    it('should drop the cached recipe and every cached list page after a PUT', async () => {
      await client().get('/recipes/10').expect(200);
      await client().get('/recipes?page=1').expect(200);
      expect((await client().get('/recipes/10').expect(200)).headers['x-cache']).to.equal('HIT');
      await (await editor()).put('/recipes/10').send({ title: 'Tiramisu, invalidated' }).expect(200);
      const item = await client().get('/recipes/10').expect(200);
      expect(item.headers['x-cache']).to.equal('MISS');
      expect(item.body.recipe.title).to.equal('Tiramisu, invalidated');
      const list = await client().get('/recipes?page=1').expect(200);
      expect(list.headers['x-cache']).to.equal('MISS');
      expect(list.body.recipes.find((r: { id: number }) => r.id === 10).title).to.equal('Tiramisu, invalidated');
    });

    it('should not cache error responses', async () => {
      expectProblem(await client().get('/recipes/9998'), 404);
      expect((await client().get('/recipes/9998')).headers['x-cache']).to.equal('MISS');
    });
  });

  describe('GET /recipes/:id', () => {
    it('should answer 200 { recipe } with its ingredients', async () => {
      const res = await client().get('/recipes/1').expect(200);
      expect(res.body.recipe).to.include({ id: 1, title: 'Spaghetti Carbonara', cuisine: 'italian' });
      expect(res.body.recipe.ingredients).to.include('egg');
    });
    it('should answer 404 problem+json for a recipe that does not exist', async () => {
      expectProblem(await client().get('/recipes/9999'), 404);
    });
    it('should answer 400 problem+json for an id that is not a positive whole number', async () => {
      expectProblem(await client().get('/recipes/abc'), 400);
      expectProblem(await client().get('/recipes/0'), 400);
    });
  });

  describe('PUT /recipes/:id', () => {
    it('should update the database and never serve the old cached recipe or list afterwards', async () => {
      await client().get('/recipes/3').expect(200);
      await client().get('/recipes?cuisine=italian').expect(200);
      const res = await (await editor()).put('/recipes/3').send({ title: 'Risotto, updated', minutes: 40 }).expect(200);
      expect(res.body.recipe).to.include({ id: 3, title: 'Risotto, updated', minutes: 40 });
      expect((await client().get('/recipes/3').expect(200)).body.recipe.title).to.equal('Risotto, updated');
      const list = await client().get('/recipes?cuisine=italian').expect(200);
      expect(list.body.recipes.find((r: { id: number }) => r.id === 3).title).to.equal('Risotto, updated');
    });

    it('should accept the recipe as GET returns it (read-only fields ignored)', async () => {
      const { recipe } = (await client().get('/recipes/4').expect(200)).body;
      const res = await (await editor())
        .put('/recipes/4')
        .send({ ...recipe, cuisine: 'fusion' })
        .expect(200);
      expect(res.body.recipe).to.include({ id: 4, cuisine: 'fusion' });
    });

    it('should answer 400 problem+json listing every invalid field', async () => {
      const res = await (await editor()).put('/recipes/5').send({ title: '', minutes: -1, colour: 'red' });
      expectProblem(res, 400);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer).sort()).to.deep.equal([
        '/colour',
        '/minutes',
        '/title',
      ]);
      expectProblem(await (await editor()).put('/recipes/5').send({}), 400);
    });

    it('should answer 401 problem+json without a logged-in user, and leave the recipe as it was', async () => {
      const before = (await client().get('/recipes/6').expect(200)).body.recipe;
      const res = await client().put('/recipes/6').send({ title: 'Defaced' });
      expectProblem(res, 401);
      expect((await client().get('/recipes/6').expect(200)).body.recipe.title).to.equal(before.title);
    });

    it('should answer 404 problem+json for a recipe that does not exist', async () => {
      expectProblem(await (await editor()).put('/recipes/9999').send({ title: 'Nothing' }), 404);
    });
  });

  describe('POST /ai/suggest', () => {
    it('should answer suggestions and call the model once for two identical requests', async () => {
      const before = await example.metrics.modelCalls();
      const input = { ingredients: ['Saffron', 'rice', 'peas-and-carrots'] };
      const first = await client().post('/ai/suggest').send(input).expect(200);
      expect(first.body.model).to.equal('chef-1');
      expect(first.body.ingredients).to.deep.equal(['peas-and-carrots', 'rice', 'saffron']);
      expect(first.body.suggestions).to.have.length(3);
      // Same ingredients in another order and case: the same question after normalisation.
      const second = await client()
        .post('/ai/suggest')
        .send({ ingredients: ['rice', 'peas-and-carrots', 'saffron '] })
        .expect(200);
      expect(second.body).to.deep.equal(first.body);
      expect(await example.metrics.modelCalls()).to.equal(before + 1);
      expect((await redis.keys('ai:chef-1:*')).length).to.be.greaterThan(0);
    });

    it('should answer 400 problem+json for a body without a list of ingredients', async () => {
      expectProblem(await client().post('/ai/suggest').send({ ingredients: [] }), 400);
      expectProblem(await client().post('/ai/suggest').send({ ingredients: 'egg' }), 400);
      expectProblem(
        await client()
          .post('/ai/suggest')
          .send({ ingredients: ['egg', 42] }),
        400,
      );
    });

    it('should allow 10 requests a minute per IP, then answer 429 with Retry-After and RateLimit headers', async () => {
      const agent = client();
      for (let i = 0; i < 10; i++) {
        const res = await agent
          .post('/ai/suggest')
          .send({ ingredients: ['egg'] })
          .expect(200);
        expect(res.headers['ratelimit-policy']).to.equal(
          '"global-1m";q=100;w=60, "global-1h";q=1000;w=3600, "global-1d";q=10000;w=86400, "/ai/suggest-1m";q=10;w=60, "/ai/suggest-1h";q=100;w=3600, "/ai/suggest-1d";q=500;w=86400',
        );
      }
      const limited = await agent.post('/ai/suggest').send({ ingredients: ['egg'] });
      expectProblem(limited, 429);
      // At most the window plus one bucket (1 s) of the sliding window.
      expect(Number(limited.headers['retry-after'])).to.be.within(1, 61);
      expect(limited.headers.ratelimit).to.match(/"\/ai\/suggest-1m";r=0;t=\d+/);
      // Other routes have their own (global) budget left.
      await agent.get('/recipes/1').expect(200);
    });

    it('should limit a logged-in user by user id, not by IP', async () => {
      const agent = client();
      const { body } = await agent
        .post('/auth/login')
        .send({ username: `limited-${ip}` })
        .expect(200);
      for (let i = 0; i < 10; i++)
        await agent
          .post('/ai/suggest')
          .send({ ingredients: ['egg'] })
          .expect(200);
      expectProblem(await agent.post('/ai/suggest').send({ ingredients: ['egg'] }), 429);
      expect(await redis.exists(`rate:{u${body.user.id}|/ai/suggest}:1m`)).to.equal(1);
      // The same IP without the session is another subject.
      await request(example.app)
        .post('/ai/suggest')
        .set('X-Forwarded-For', ip)
        .send({ ingredients: ['egg'] })
        .expect(200);
    });
  });

  describe('global rate limit', () => {
    it('should send the global policy on every route and answer 429 after 100 requests a minute', async () => {
      const agent = client();
      const health = await agent.get('/health').expect(200);
      expect(health.headers['ratelimit-policy']).to.equal(
        '"global-1m";q=100;w=60, "global-1h";q=1000;w=3600, "global-1d";q=10000;w=86400',
      );
      for (let i = 1; i < 100; i++) await agent.get(i % 2 ? '/recipes/2' : '/health').expect(200);
      expectProblem(await agent.get('/recipes?page=3'), 429);
      expectProblem(await agent.get('/metrics'), 429);
      // Another client is not affected.
      await request(example.app).get('/health').set('X-Forwarded-For', uniqueIp()).expect(200);
    });
  });

  describe('GET /health', () => {
    it("should answer 200 { redis: 'ok' } when Redis answers", async () => {
      const res = await client().get('/health').expect(200);
      expect(res.body).to.deep.equal({ redis: 'ok' });
      expect(res.headers['cache-control']).to.equal('no-store');
    });
  });

  describe('GET /metrics', () => {
    it('should answer Prometheus text with cache, limiter, Redis and model metrics', async () => {
      await client()
        .post('/ai/suggest')
        .send({ ingredients: ['metrics-test'] })
        .expect(200);
      await client()
        .post('/ai/suggest')
        .send({ ingredients: ['metrics-test'] })
        .expect(200);
      const res = await client().get('/metrics').expect(200);
      expect(res.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
      const text = res.text;
      expect(sample(text, 'example_model_calls_total')).to.equal(await example.metrics.modelCalls());
      expect(sample(text, 'redis_middleware_cache_hits_total{cache="ai"}')).to.be.greaterThan(0);
      expect(sample(text, 'redis_middleware_cache_misses_total{cache="ai"}')).to.be.greaterThan(0);
      expect(sample(text, 'redis_middleware_cache_hits_total{cache="db"}')).to.be.greaterThan(0);
      expect(text).to.match(/^redis_middleware_rate_limit_decisions_total\{limiter="global",outcome="allow"\} \d+/m);
      expect(text).to.match(/^redis_middleware_redis_command_duration_seconds_bucket\{le="0\.001",operation=/m);
      expect(text).to.contain('# TYPE redis_middleware_redis_command_errors_total counter');
      expect(text).to.match(
        /^example_http_request_duration_seconds_count\{method="GET",route="\/recipes\/:id",status="200"\} \d+/m,
      );
    });
  });

  describe('errors', () => {
    it('should answer 404 problem+json for an unknown route', async () => {
      const res = await client().get('/nowhere');
      expectProblem(res, 404);
      expect(res.body).to.include({ title: 'Not Found', instance: '/nowhere' });
    });

    it('should answer 500 problem+json without a stack trace when a handler fails', async () => {
      const logged: unknown[] = [];
      const broken = buildApp(redis, { logError: (error) => logged.push(error) });
      try {
        const db = broken.app.get('db') as { close(): void } | undefined;
        expect(db, 'the app exposes its database as app.get("db")').not.to.equal(undefined);
        db?.close();
        const res = await request(broken.app).post('/auth/login').set('X-Forwarded-For', ip).send({ username: 'x' });
        expectProblem(res, 500);
        expect(res.body.detail).to.equal('The server failed to answer; the error was logged');
        expect(logged).to.have.length(1);
      } finally {
        await broken.close();
      }
    });
  });
});
