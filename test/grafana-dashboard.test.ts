import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import type { ExampleApp } from '../example-server/app';
import { buildApp, uniqueIp } from './example-server-helpers';
import { PROMETHEUS_DIR, startExporter } from './prometheus-support';
import { exposedNames, metricNamesIn } from './promql-names';
import { RedisNode, Standalone } from './support';

interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  templating: { list: Array<{ query?: string | { query: string } }> };
}

const dashboard = JSON.parse(readFileSync(join(PROMETHEUS_DIR, 'grafana-dashboard.json'), 'utf8')) as Dashboard;

/** Every PromQL expression of the dashboard: panel targets and template variable queries (label_values(metric…)). */
function expressions(): Array<{ where: string; expr: string }> {
  const targets = dashboard.panels.flatMap((panel) =>
    panel.targets.map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr })),
  );
  const variables = dashboard.templating.list
    .map((variable) => (typeof variable.query === 'object' ? variable.query.query : undefined))
    .filter((query): query is string => query?.startsWith('label_values(') === true)
    .map((query) => ({ where: 'a template variable', expr: query.replace(/^label_values\((.*), *\w+\)$/, '$1') }));
  return [...targets, ...variables];
}

describe('example-server/prometheus/grafana-dashboard.json', function () {
  this.timeout(30_000);
  let redis: Standalone;
  let example: ExampleApp;
  let exporter: Awaited<ReturnType<typeof startExporter>>;
  /** A replica and its exporter: some series (redis_master_link_up) exist on replicas only. */
  let replica: RedisNode;
  let replicaExporter: Awaited<ReturnType<typeof startExporter>>;
  let exposed: Set<string>;
  before(async () => {
    redis = await Standalone.start();
    example = buildApp(redis.client());
    exporter = await startExporter(redis.url);
    replica = await RedisNode.start({ config: [`replicaof ${redis.node.host} ${redis.node.port}`] });
    replicaExporter = await startExporter(replica.url);
    // A little of every kind of traffic, so the labelled series exist too.
    const agent = request.agent(example.app).set('X-Forwarded-For', uniqueIp());
    await agent.post('/auth/login').send({ username: 'grafana' }).expect(200);
    for (let i = 0; i < 2; i++) {
      await agent.get('/recipes/1').expect(200);
      await agent
        .post('/ai/suggest')
        .send({ ingredients: ['dashboard'] })
        .expect(200);
    }
    const app = (await agent.get('/metrics').expect(200)).text;
    const primaryText = await (await fetch(`${exporter.url}/metrics`)).text();
    const replicaText = await (await fetch(`${replicaExporter.url}/metrics`)).text();
    exposed = new Set([...exposedNames(app), ...exposedNames(primaryText), ...exposedNames(replicaText)]);
  });
  after(async () => {
    await example?.close();
    await exporter?.stop();
    await replicaExporter?.stop();
    await replica?.stop();
    await redis?.stop();
  });

  it('should show hit ratios, limiter decisions, Redis errors and latency', () => {
    const all = expressions()
      .map((e) => e.expr)
      .join('\n');
    for (const metric of [
      'redis_middleware_cache_hits_total',
      'redis_middleware_cache_misses_total',
      'redis_middleware_rate_limit_decisions_total',
      'redis_middleware_redis_command_errors_total',
      'redis_middleware_redis_command_duration_seconds_bucket',
    ]) {
      expect(all).to.contain(metric);
    }
  });

  it("should name only metrics that the example's /metrics or prometheus-redis-exporter expose", () => {
    const unknown = expressions().flatMap(({ where, expr }) =>
      metricNamesIn(expr)
        .filter((name) => !exposed.has(name))
        .map((name) => `${name} (${where})`),
    );
    expect(expressions()).to.have.length.greaterThan(10);
    expect(unknown).to.deep.equal([]);
  });

  it("should have alert rules that name only metrics the example's /metrics or the exporter expose", () => {
    const rules = readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8');
    const exprs = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1] as string);
    expect(exprs).to.have.length(12);
    const unknown = exprs.flatMap((expr) => metricNamesIn(expr).filter((name) => !exposed.has(name)));
    expect(unknown).to.deep.equal([]);
  });

  it('should read metric names the way PromQL does (the check above relies on it)', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (route, le) (rate(example_http_request_duration_seconds_bucket{job=~"$job", le!="x"}[$__rate_interval]))) / on (instance) group_left up and bool redis_up',
      ).sort(),
    ).to.deep.equal(['example_http_request_duration_seconds_bucket', 'redis_up', 'up']);
  });
});
