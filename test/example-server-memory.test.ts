import { expect } from 'chai';
import request from 'supertest';
import type { ExampleApp } from '../example-server/app';
import { buildApp, expectProblem, sample, uniqueIp } from './example-server-helpers';

describe('example server in memory mode (no Redis)', () => {
  let example: ExampleApp;
  let ip: string;
  before(() => {
    example = buildApp(undefined);
  });
  beforeEach(() => {
    ip = uniqueIp();
  });
  after(() => example.close());

  function client(): request.Agent {
    return request.agent(example.app).set('X-Forwarded-For', ip);
  }

  it("should answer GET /health with 200 { redis: 'memory' }", async () => {
    const res = await client().get('/health').expect(200);
    expect(res.body).to.deep.equal({ redis: 'memory' });
  });

  it('should keep sessions in process: login, /me, logout', async () => {
    const agent = client();
    const { body } = await agent.post('/auth/login').send({ username: 'mem' }).expect(200);
    expect((await agent.get('/me').expect(200)).body).to.deep.equal(body);
    await agent.post('/auth/logout').expect(204);
    expectProblem(await agent.get('/me'), 401);
  });

  it('should serve, update and re-read recipes', async () => {
    await client().get('/recipes/7').expect(200);
    const editor = client();
    await editor.post('/auth/login').send({ username: 'mem-editor' }).expect(200);
    await editor.put('/recipes/7').send({ title: 'Caprese, in memory' }).expect(200);
    expect((await client().get('/recipes/7').expect(200)).body.recipe.title).to.equal('Caprese, in memory');
    expect((await client().get('/recipes?cuisine=mexican').expect(200)).body.total).to.equal(10);
  });

  it('should call the model once for two identical suggestions and show it in /metrics', async () => {
    const before = await example.metrics.modelCalls();
    const input = { ingredients: ['memory', 'mode'] };
    const first = await client().post('/ai/suggest').send(input).expect(200);
    const second = await client().post('/ai/suggest').send(input).expect(200);
    expect(second.body).to.deep.equal(first.body);
    const metrics = await client().get('/metrics').expect(200);
    expect(sample(metrics.text, 'example_model_calls_total')).to.equal(before + 1);
    expect(sample(metrics.text, 'redis_middleware_cache_hits_total{cache="ai"}')).to.be.greaterThan(0);
  });

  it('should still limit POST /ai/suggest to 10 a minute', async () => {
    const agent = client();
    for (let i = 0; i < 10; i++)
      await agent
        .post('/ai/suggest')
        .send({ ingredients: ['limit'] })
        .expect(200);
    expectProblem(await agent.post('/ai/suggest').send({ ingredients: ['limit'] }), 429);
  });
});
