// Metric labels under hostile traffic: every value from the closed lists, a constant number of series, promtool-clean text.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import {
  aiCache,
  type PrometheusMetrics,
  prometheusMetrics,
  queryCache,
  type RedisClient,
  rateLimit,
  responseCache,
  sessions,
} from '../lib';
import { labelValues } from '../lib/metrics/labels';
import { sharedStandalone } from './support';

const run = promisify(execFile);
const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const LIMITER_NAMES = ['flood-global', 'flood-ai'];

/** Hostile-looking text: braces, globs, separators, spaces and unicode, different every call. */
function noise(): string {
  return `{${randomBytes(6).toString('hex')}}:*?[x] é ${randomBytes(3).toString('base64url')}`;
}

function buildApp(redis: RedisClient) {
  const app = express();
  app.set('trust proxy', 1);
  app.use(express.json());
  const session = sessions({ redis, secret: SECRET });
  app.use(session);
  app.use(rateLimit({ redis, name: 'flood-global', windows: { '1m': 1_000_000 } }));
  const q = queryCache({ redis, ttl: '5m' });
  const suggest = aiCache(
    { redis, model: 'flood-model', ttl: '1m' },
    async (input: string) => `suggestion for ${input}`,
  );
  app.post('/login', async (req, res, next) => {
    try {
      await sessions.login(req, { name: String(req.body.name) });
      res.json({ ok: true });
    } catch (error) {
      next(error);
    }
  });
  // Echoes the probe headers: the response reflects unkeyed request headers, so it is never stored.
  app.get('/echo', responseCache({ redis, ttl: '1m' }), (req, res) => {
    res.json({ probes: Object.entries(req.headers).filter(([name]) => name.startsWith('x-probe')) });
  });
  app.get('/items/:id', responseCache({ redis, ttl: '1m' }), async (req, res, next) => {
    try {
      const id = req.params.id as string;
      res.json(
        await q.get({ tables: ['flood-items'], sql: 'select * from items where id = ?', params: [id] }, async () => ({
          id,
        })),
      );
    } catch (error) {
      next(error);
    }
  });
  app.post('/ai', rateLimit({ redis, name: 'flood-ai', windows: { '1m': 1_000_000 } }), async (req, res, next) => {
    try {
      res.json({ text: await suggest(String(req.body.input)) });
    } catch (error) {
      next(error);
    }
  });
  app.use(sessions.errorHandler());
  return app;
}

/** One request of each hostile kind, each with values no request used before. */
async function hostileRound(app: express.Express, i: number): Promise<void> {
  const value = noise();
  const ip = `10.77.${i % 250}.${Math.floor(i / 250) % 250}`;
  await Promise.all([
    request(app)
      .get(`/echo?${encodeURIComponent(value)}=${i}&q=${encodeURIComponent(value)}`)
      .set(`X-Probe-${i}`, value)
      .set('X-Forwarded-For', ip),
    request(app)
      .get(`/items/${encodeURIComponent(value)}?page=${i}&${encodeURIComponent(value)}=1`)
      .set('X-Forwarded-For', ip),
    request(app)
      .get(`/no/such/${encodeURIComponent(value)}`)
      .set('Cache-Control', value)
      .set('X-Forwarded-For', ip),
    request(app).post('/login').send({ name: value }).set('X-Forwarded-For', ip),
    request(app)
      .post('/ai')
      .send({ input: value })
      .set('Cookie', `connect.sid=${encodeURIComponent(value)}`)
      .set('Authorization', value),
    request(app).get(`/items/${i}`).set('Cookie', `sid=${value}`).set('User-Agent', value).set('Accept', value),
  ]);
}

/** Every sample line of the package's metrics: `name{labels}` without the value. */
function seriesOf(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('redis_middleware_'))
    .map((line) => line.slice(0, line.lastIndexOf(' ')));
}

/** Every `label="value"` pair of the package's series. */
function labelPairs(text: string): Array<[string, string]> {
  return seriesOf(text).flatMap((series) =>
    [...series.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map(
      (m) => [m[1] as string, m[2] as string] as [string, string],
    ),
  );
}

describe('metric label values', () => {
  it('should each be documented in docs/observability.md', () => {
    const docs = readFileSync(join(__dirname, '..', 'docs', 'observability.md'), 'utf8');
    // Scripts the tests declare register too: only the package's own (named in lib/) must be documented.
    const libSource = sourceOf(join(__dirname, '..', 'lib'));
    const undocumented = Object.entries(labelValues()).flatMap(([label, values]) =>
      values
        .filter((value) => label !== 'operation' || libSource.includes(`'${value}'`))
        .filter((value) => !docs.includes(`\`${value}\``))
        .map((value) => `${label}=${value}`),
    );
    expect(undocumented).to.deep.equal([]);
  });
});

/** Every TypeScript source under `dir`, concatenated. */
function sourceOf(dir: string): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sourceOf(path);
      return entry.name.endsWith('.ts') ? readFileSync(path, 'utf8') : '';
    })
    .join('\n');
}

describe('prometheusMetrics() under hostile traffic', () => {
  let registry: Registry;
  let metrics: PrometheusMetrics;
  let app: express.Express;
  before(async function () {
    this.timeout(60_000);
    registry = new Registry();
    metrics = prometheusMetrics({ registry });
    app = buildApp((await sharedStandalone()).client());
    for (let i = 0; i < 20; i++) await hostileRound(app, i);
  });
  after(() => metrics.close());

  it('should add no series however many new headers, paths, users and query strings clients send', async function () {
    this.timeout(120_000);
    const before = seriesOf(await metrics.metrics());
    for (let i = 20; i < 120; i++) await hostileRound(app, i);
    const after = seriesOf(await metrics.metrics());
    expect(after.filter((series) => !before.includes(series))).to.deep.equal([]);
    expect(after.length).to.equal(before.length);
  });

  it('should take every label value from the closed, documented lists', async () => {
    const allowed = labelValues();
    const closed = new Map<string, Set<string>>([
      ['cache', new Set(allowed.cache)],
      ['reason', new Set([...(allowed['reason (bypasses)'] ?? []), ...(allowed['reason (skips)'] ?? [])])],
      ['outcome', new Set(allowed.outcome)],
      ['class', new Set(allowed.class)],
      ['concern', new Set(allowed.concern)],
      ['operation', new Set(allowed.operation)],
      ['limiter', new Set(LIMITER_NAMES)],
      ['le', new Set()],
    ]);
    const outside = labelPairs(await metrics.metrics()).filter(
      ([name, value]) => name !== 'le' && !closed.get(name)?.has(value),
    );
    expect(outside).to.deep.equal([]);
    expect(
      labelPairs(await metrics.metrics()).some(([name, value]) => name === 'reason' && value === 'unkeyed-header'),
    ).to.equal(true);
  });

  it('should export text that promtool check metrics finds clean', async () => {
    await run('promtool', ['--version']).catch(() => {
      throw new Error(
        "promtool not found: install Debian's prometheus package (apt-get install prometheus); .ci/run does",
      );
    });
    const text = (await metrics.metrics()).trim();
    const child = run('promtool', ['check', 'metrics']);
    child.child.stdin?.end(`${text}\n`);
    const outcome = await child.then(
      ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}` }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        output: `${error.stdout}${error.stderr}`,
      }),
    );
    expect(outcome).to.deep.equal({ code: 0, output: '' });
  });
});
