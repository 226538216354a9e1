import { expect } from 'chai';
import * as promClient from 'prom-client';
import { Registry } from 'prom-client';
import { emitEvent } from '../lib/common/events';
import { type PrometheusMetrics, prometheusMetrics } from '../lib/metrics';
import { BoundedLabel, redisErrorClass } from '../lib/metrics/labels';
import { defineScript, resolveBackend } from '../lib/redis';
import { sharedStandalone } from './support';

/** The value of one sample line, e.g. `redis_middleware_cache_hits_total{cache="api"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('prometheusMetrics()', () => {
  let registry: Registry;
  let metrics: PrometheusMetrics;
  beforeEach(() => {
    registry = new Registry();
    metrics = prometheusMetrics({ registry });
  });
  afterEach(() => metrics.close());

  describe('options', () => {
    it('should throw a TypeError naming the registry option when it is not a Registry', () => {
      expect(() => prometheusMetrics({ registry: {} as Registry })).to.throw(TypeError, /registry option/);
    });
    it('should throw a TypeError naming the prefix option when it is not a metric name prefix', () => {
      expect(() => prometheusMetrics({ registry: new Registry(), prefix: 'bad prefix' })).to.throw(
        TypeError,
        /prefix option/,
      );
    });
    it('should throw a TypeError naming the promClient option when it is not prom-client', () => {
      expect(() => prometheusMetrics({ promClient: {} as typeof promClient })).to.throw(TypeError, /promClient option/);
    });
    it('should throw a TypeError naming redisLatencyBuckets when a bucket is not a positive number', () => {
      expect(() => prometheusMetrics({ registry: new Registry(), redisLatencyBuckets: [0] })).to.throw(
        TypeError,
        /redisLatencyBuckets option/,
      );
    });
    it('should refuse a second call on the same registry instead of double counting', () => {
      expect(() => prometheusMetrics({ registry })).to.throw(/already called/);
    });
    it('should accept an injected prom-client module and a custom prefix', async () => {
      const own = new Registry();
      const custom = prometheusMetrics({ registry: own, promClient, prefix: 'app_' });
      try {
        expect(await custom.metrics()).to.contain('app_cache_hits_total{cache="ai"} 0');
      } finally {
        custom.close();
      }
    });
  });

  describe('cache events', () => {
    it('should expose zero-valued hit and miss counters for every cache before any traffic', async () => {
      const text = await metrics.metrics();
      for (const cache of ['api', 'ai', 'db']) {
        expect(sample(text, `redis_middleware_cache_hits_total{cache="${cache}"}`)).to.equal(0);
        expect(sample(text, `redis_middleware_cache_misses_total{cache="${cache}"}`)).to.equal(0);
      }
    });

    it('should count hits, misses, stale serves and stores per cache', async () => {
      emitEvent({ kind: 'cache', cache: 'api', outcome: 'hit' });
      emitEvent({ kind: 'cache', cache: 'api', outcome: 'hit' });
      emitEvent({ kind: 'cache', cache: 'db', outcome: 'miss' });
      emitEvent({ kind: 'cache', cache: 'ai', outcome: 'stale' });
      emitEvent({ kind: 'cache', cache: 'ai', outcome: 'store', rawBytes: 1000, storedBytes: 300 });
      const text = await metrics.metrics();
      expect(sample(text, 'redis_middleware_cache_hits_total{cache="api"}')).to.equal(2);
      expect(sample(text, 'redis_middleware_cache_misses_total{cache="db"}')).to.equal(1);
      expect(sample(text, 'redis_middleware_cache_stale_total{cache="ai"}')).to.equal(1);
      expect(sample(text, 'redis_middleware_cache_stores_total{cache="ai"}')).to.equal(1);
      expect(sample(text, 'redis_middleware_cache_stored_raw_bytes_total{cache="ai"}')).to.equal(1000);
      expect(sample(text, 'redis_middleware_cache_stored_bytes_total{cache="ai"}')).to.equal(300);
      expect(sample(text, 'redis_middleware_cache_compression_saved_bytes_total{cache="ai"}')).to.equal(700);
    });

    it('should count skips and bypasses with their reason', async () => {
      emitEvent({ kind: 'cache', cache: 'api', outcome: 'skip', reason: 'set-cookie' });
      emitEvent({ kind: 'cache', cache: 'db', outcome: 'bypass', reason: 'invalidation-pending' });
      const text = await metrics.metrics();
      expect(sample(text, 'redis_middleware_cache_skips_total{cache="api",reason="set-cookie"}')).to.equal(1);
      expect(sample(text, 'redis_middleware_cache_bypasses_total{cache="db",reason="invalidation-pending"}')).to.equal(
        1,
      );
    });
  });

  describe('limiter and session events', () => {
    it('should count limiter decisions by limiter and outcome', async () => {
      emitEvent({ kind: 'limit', limiter: 'global', outcome: 'allow' });
      emitEvent({ kind: 'limit', limiter: 'global', outcome: 'reject' });
      emitEvent({ kind: 'limit', limiter: 'ai', outcome: 'insurance' });
      const text = await metrics.metrics();
      expect(sample(text, 'redis_middleware_rate_limit_decisions_total{limiter="global",outcome="allow"}')).to.equal(1);
      expect(sample(text, 'redis_middleware_rate_limit_decisions_total{limiter="global",outcome="reject"}')).to.equal(
        1,
      );
      expect(sample(text, 'redis_middleware_rate_limit_decisions_total{limiter="ai",outcome="insurance"}')).to.equal(1);
    });

    it('should count session store errors, fresh starts and oversized sessions', async () => {
      emitEvent({ kind: 'session', outcome: 'store-error' });
      emitEvent({ kind: 'session', outcome: 'fresh-start' });
      emitEvent({ kind: 'session', outcome: 'too-large' });
      const text = await metrics.metrics();
      expect(sample(text, 'redis_middleware_session_store_errors_total')).to.equal(1);
      expect(sample(text, 'redis_middleware_session_fresh_starts_total')).to.equal(1);
      expect(sample(text, 'redis_middleware_session_too_large_total')).to.equal(1);
    });
  });

  describe('Redis calls on a real Redis', () => {
    it('should observe the latency of every call in seconds and count failed calls by class', async () => {
      const redis = (await sharedStandalone()).client();
      const backend = resolveBackend({ redis });
      await backend.set('metrics-test:key', 'v', 10_000);
      await backend.get('metrics-test:key');
      const broken = defineScript<number>({
        name: 'metricsTestBroken',
        lua: "return redis.call('NOSUCHCOMMAND')",
        memory: () => 0,
      });
      await backend.run(broken, ['metrics-test:key'], []).then(
        () => expect.fail('a broken script succeeded'),
        () => undefined,
      );
      const text = await metrics.metrics();
      expect(sample(text, 'redis_middleware_redis_command_duration_seconds_count{operation="GET"}')).to.equal(1);
      expect(sample(text, 'redis_middleware_redis_command_duration_seconds_count{operation="SET"}')).to.equal(1);
      const sum = sample(text, 'redis_middleware_redis_command_duration_seconds_sum{operation="GET"}') ?? -1;
      expect(sum).to.be.greaterThan(0).and.lessThan(0.5);
      expect(
        sample(text, 'redis_middleware_redis_command_errors_total{operation="metricsTestBroken",class="reply"}'),
      ).to.equal(1);
    });
  });

  describe('close()', () => {
    it('should stop counting events', async () => {
      metrics.close();
      emitEvent({ kind: 'cache', cache: 'api', outcome: 'hit' });
      expect(sample(await metrics.metrics(), 'redis_middleware_cache_hits_total{cache="api"}')).to.equal(0);
    });
  });
});

describe('metric labels', () => {
  it('should keep a bounded number of distinct label values and report the rest as other', () => {
    const label = new BoundedLabel(2);
    expect([label.of('a'), label.of('b'), label.of('c'), label.of('a'), label.of(undefined)]).to.deep.equal([
      'a',
      'b',
      'other',
      'a',
      'other',
    ]);
  });
  it('should classify Redis errors into timeout, unavailable, reply and other', () => {
    expect(redisErrorClass('RedisTimeoutError: Redis did not answer GET within 500 ms')).to.equal('timeout');
    expect(redisErrorClass('Error: connect ECONNREFUSED 127.0.0.1:6379')).to.equal('unavailable');
    expect(redisErrorClass('ReplyError: ERR unknown command')).to.equal('reply');
    expect(redisErrorClass('something odd')).to.equal('other');
  });
});
