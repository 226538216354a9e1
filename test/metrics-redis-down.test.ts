// What the metrics say when Redis really stops: the connected gauge drops without traffic, session failures are counted.
import { expect } from 'chai';
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { type PrometheusMetrics, prometheusMetrics, queryCache, type RedisClient, sessions } from '../lib';
import { Standalone, waitFor } from './support';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('prometheusMetrics() when Redis is stopped', () => {
  let redis: Standalone;
  let client: RedisClient;
  let registry: Registry;
  let metrics: PrometheusMetrics;
  let app: express.Express;
  beforeEach(async () => {
    redis = await Standalone.start();
    client = redis.client();
    await client.ping();
    registry = new Registry();
    metrics = prometheusMetrics({ registry });
    app = express();
    app.use(express.json());
    app.use(sessions({ redis: client, secret: SECRET }));
    queryCache({ redis: client });
    app.post('/login', async (req, res, next) => {
      try {
        await sessions.login(req, { name: 'ann' });
        res.json({ ok: true });
      } catch (error) {
        next(error);
      }
    });
    app.use(sessions.errorHandler());
  });
  afterEach(async () => {
    metrics.close();
    await redis.stop();
  });

  const connected = async (concern: string): Promise<number | undefined> =>
    sample(await metrics.metrics(), `redis_middleware_redis_connected{concern="${concern}"}`);

  it('should say every concern is connected while Redis answers', async () => {
    expect(await connected('sessions')).to.equal(1);
    expect(await connected('query-cache')).to.equal(1);
  });

  it('should drop the connected gauge to 0 without any request, and raise it again when Redis is back', async () => {
    await redis.node.kill();
    await waitFor(async () => (await connected('sessions')) === 0, { timeoutMs: 5000, what: 'the gauge to drop' });
    expect(await connected('query-cache')).to.equal(0);
    await redis.node.restart();
    await waitFor(async () => (await connected('sessions')) === 1, { timeoutMs: 10_000, what: 'the gauge to rise' });
  });

  it('should count session store errors while logins answer 503', async () => {
    await request(app).post('/login').expect(200);
    await redis.node.kill();
    await waitFor(() => client.status !== 'ready', { timeoutMs: 5000, what: 'the client to notice' });
    const before = sample(await metrics.metrics(), 'redis_middleware_session_store_errors_total') ?? 0;
    for (let i = 0; i < 3; i++) await request(app).post('/login').expect(503);
    const after = sample(await metrics.metrics(), 'redis_middleware_session_store_errors_total') ?? 0;
    expect(after - before).to.be.at.least(3);
  });
});
