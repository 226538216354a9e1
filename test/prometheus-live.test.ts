import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ExampleProcess } from './example-process';
import {
  type Alert,
  fastRules,
  PROMETHEUS_DIR,
  shippedRules,
  startExporter,
  startPrometheus,
} from './prometheus-support';
import { Standalone, waitFor } from './support';

type Prometheus = Awaited<ReturnType<typeof startPrometheus>>;

/** Waits until every named alert is firing (or, with `state: 'gone'`, none of them is pending or firing). */
async function waitForAlerts(prometheus: Prometheus, names: string[], state: 'firing' | 'gone'): Promise<Alert[]> {
  let last: Alert[] = [];
  await waitFor(
    async () => {
      last = await prometheus.alerts();
      const present = (name: string) => last.filter((a) => a.labels.alertname === name);
      return state === 'firing'
        ? names.every((name) => present(name).some((a) => a.state === 'firing'))
        : names.every((name) => present(name).length === 0);
    },
    {
      what: `alerts ${names.join(', ')} to be ${state} (last: ${JSON.stringify(last.map((a) => [a.labels.alertname, a.state]))})`,
      timeoutMs: 45_000,
      intervalMs: 250,
    },
  );
  return last;
}

describe('alert rules on a real Prometheus (1 s scrape and evaluation, short windows)', function () {
  this.timeout(180_000);
  let redis: Standalone;
  /** The caches' Redis (CACHE_REDIS_URL): stopping it alone leaves sessions working, so a PUT can leave invalidations pending. */
  let cacheRedis: Standalone;
  let dataDir: string;
  let example: ExampleProcess;
  let exporter: Awaited<ReturnType<typeof startExporter>>;
  let prometheus: Prometheus;
  let url: string;
  let traffic: Promise<void> | undefined;
  let sending = false;

  before(async () => {
    redis = await Standalone.start();
    cacheRedis = await Standalone.start();
    dataDir = mkdtempSync(join(tmpdir(), 'rmw-example-alerts-'));
    example = new ExampleProcess({
      REDIS_URL: redis.url,
      CACHE_REDIS_URL: cacheRedis.url,
      DATA_DIR: dataDir,
      DB_FILE: ':memory:',
      TRUST_PROXY: '1',
    });
    url = await example.url();
    exporter = await startExporter(redis.url);
    prometheus = await startPrometheus(fastRules(shippedRules()), [
      { job: 'app', address: new URL(url).host },
      { job: 'redis', address: new URL(exporter.url).host, labels: { redis_store: 'sessions' } },
    ]);
    await waitFor(
      async () => {
        const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=up`)).json()) as {
          data: { result: Array<{ value: [number, string] }> };
        };
        return body.data.result.length === 2 && body.data.result.every((r) => r.value[1] === '1');
      },
      { what: 'Prometheus to scrape the example and the exporter' },
    );
    // Steady traffic from many addresses (under the limits), as an app has: the session errors are counted per request.
    sending = true;
    traffic = (async () => {
      for (let n = 0; sending; n++) {
        const ip = `10.77.${(n >> 8) & 255}.${n & 255}`;
        await fetch(`${url}/recipes/${1 + (n % 20)}`, { headers: { 'x-forwarded-for': ip } }).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
  });

  after(async () => {
    sending = false;
    await traffic;
    example?.kill();
    await prometheus?.stop();
    await exporter?.stop();
    await redis?.stop();
    await cacheRedis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('should fire nothing while Redis is up', async () => {
    // Several evaluations after the first scrape: the windows hold data, and nothing is pending or firing.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await prometheus.alerts()).map((a) => a.labels.alertname)).to.deep.equal([]);
  });

  it('should evaluate every query of the Grafana dashboard, with data for the hit ratios and latency', async () => {
    const dashboard = JSON.parse(readFileSync(join(PROMETHEUS_DIR, 'grafana-dashboard.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const withData: string[] = [];
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const query = expr.replace(/\$__rate_interval/g, '10s').replace(/\$(job|instance)\b/g, '.+');
        const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
        const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
        expect(body.status, `${panel.title}: ${query} (${body.error})`).to.equal('success');
        if ((body.data?.result.length ?? 0) > 0) withData.push(panel.title);
      }
    }
    expect(withData).to.include.members([
      'Cache hit ratio by cache',
      'Redis call latency',
      'HTTP latency by route (p99)',
    ]);
  });

  it('should fire Redis down and sessions unavailable while Redis is stopped, and resolve both once it is back', async () => {
    await redis.node.kill();
    try {
      const firing = await waitForAlerts(
        prometheus,
        ['RedisMiddlewareRedisDown', 'RedisMiddlewareSessionsUnavailable', 'RedisExporterCannotReachRedis'],
        'firing',
      );
      const down = firing.filter((a) => a.labels.alertname === 'RedisMiddlewareRedisDown' && a.state === 'firing');
      expect(down.map((a) => a.labels.concern)).to.include.members(['sessions', 'rate-limit']);
    } finally {
      await redis.node.restart();
    }
    await waitForAlerts(
      prometheus,
      ['RedisMiddlewareRedisDown', 'RedisMiddlewareSessionsUnavailable', 'RedisExporterCannotReachRedis'],
      'gone',
    );
    const login = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.78.0.1' },
      body: JSON.stringify({ username: `back-${randomUUID().slice(0, 6)}` }),
    });
    expect(login.status).to.equal(200);
  });

  it("should fire invalidations pending while a recipe is updated with the caches' Redis stopped, and resolve after", async () => {
    const login = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.78.0.2' },
      body: JSON.stringify({ username: `editor-${randomUUID().slice(0, 6)}` }),
    });
    const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
    await cacheRedis.node.kill();
    try {
      const put = await fetch(`${url}/recipes/7`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.78.0.2', cookie },
        body: JSON.stringify({ minutes: 12 }),
      });
      expect(put.status).to.equal(200);
      const firing = await waitForAlerts(prometheus, ['RedisMiddlewareInvalidationsPending'], 'firing');
      const caches = firing.filter((a) => a.labels.alertname === 'RedisMiddlewareInvalidationsPending');
      expect(caches.map((a) => a.labels.cache)).to.include.members(['api', 'db']);
    } finally {
      await cacheRedis.node.restart();
    }
    await waitForAlerts(prometheus, ['RedisMiddlewareInvalidationsPending', 'RedisMiddlewareRedisDown'], 'gone');
  });

  it('should fire the memory alert under a small maxmemory', async () => {
    const used = Number((await redis.node.info('memory')).used_memory);
    // 95 % full: the alert's threshold is 90 %.
    await redis.node.command('CONFIG', 'SET', 'maxmemory', String(Math.ceil(used / 0.95)));
    try {
      const firing = await waitForAlerts(prometheus, ['RedisMemoryNearMaxmemory'], 'firing');
      const alert = firing.find((a) => a.labels.alertname === 'RedisMemoryNearMaxmemory') as Alert;
      expect(alert.labels).to.include({ job: 'redis', severity: 'warning' });
      expect(Number(alert.value)).to.be.within(0.9, 1.2);
    } finally {
      await redis.node.command('CONFIG', 'SET', 'maxmemory', '0');
    }
    await waitForAlerts(prometheus, ['RedisMemoryNearMaxmemory'], 'gone');
  });
});
