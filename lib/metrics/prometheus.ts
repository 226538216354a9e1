// prometheusMetrics(): turns every middleware event into Prometheus counters and histograms on a prom-client registry.
import type * as PromClient from 'prom-client';
import { describe } from '../common/duration';
import { type CacheName, type MiddlewareEvent, onEvent } from '../common/events';
import { pendingCounts } from '../common/pending-counts';
import { assertKnownOptions, assertOptionsObject, type OptionDefaults } from '../common/validate';
import { connectionStates } from '../redis/connections';
import { BoundedLabel, operationLabel, reasonLabel, redisErrorClass } from './labels';
import { loadPromClient, type PromClientModule, type PromRegistry } from './prom-client';

/** Options of `prometheusMetrics()`. */
export interface PrometheusMetricsOptions {
  /**
   * The registry the metrics are registered on (the one your `/metrics` route serves).
   * @default prom-client's global `register`
   */
  registry?: PromRegistry;
  /**
   * Prepended to every metric name.
   * @default 'redis_middleware_'
   */
  prefix?: string;
  /**
   * The prom-client module, for bundlers or ES module setups where a lazy `require('prom-client')` does not work.
   * @default require('prom-client'), loaded when `prometheusMetrics()` is first called
   */
  promClient?: PromClientModule;
  /**
   * Histogram buckets of `redis_command_duration_seconds`, in seconds.
   * @default [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
   */
  redisLatencyBuckets?: number[];
}

/** What `prometheusMetrics()` returns. */
export interface PrometheusMetrics {
  /** The registry the metrics live on. */
  readonly registry: PromRegistry;
  /** The `Content-Type` of the exposition text. */
  readonly contentType: string;
  /** The exposition text of the whole registry (what a `/metrics` route sends). */
  metrics(): Promise<string>;
  /** Stops listening to middleware events; the metrics stay registered with their last values. */
  close(): void;
}

const CACHES: readonly CacheName[] = ['api', 'ai', 'db'];
/** Every option of `prometheusMetrics()` with its default (`undefined`: computed as documented). */
export const prometheusMetricsDefaults = {
  registry: undefined,
  prefix: 'redis_middleware_',
  promClient: undefined,
  redisLatencyBuckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
} as const satisfies OptionDefaults<PrometheusMetricsOptions>;
/** Most distinct limiter names kept (the application chooses them; a misuse must not grow series without bound). */
const MAX_LABEL_VALUES = 50;

/**
 * Registers the package's metrics on a prom-client registry and keeps them up to date from the
 * middleware events (`onEvent`). Call it once per registry, at start-up.
 *
 * @example
 * const metrics = prometheusMetrics();
 * app.get('/metrics', async (_req, res) => res.type(metrics.contentType).send(await metrics.metrics()));
 */
export function prometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  assertOptionsObject(options, 'prometheusMetrics');
  assertKnownOptions(options, prometheusMetricsDefaults);
  const given = options.promClient ?? loadPromClient();
  if (!isPromClient(given)) {
    throw new TypeError(`promClient option must be the prom-client module; received ${describe(options.promClient)}`);
  }
  // The public types are structural (no prom-client needed to compile); inside, the real ones.
  const prom = given as unknown as typeof PromClient;
  const registry: unknown = options.registry ?? prom.register;
  if (!isRegistry(registry)) {
    throw new TypeError(`registry option must be a prom-client Registry; received ${describe(options.registry)}`);
  }
  const prefix = options.prefix ?? prometheusMetricsDefaults.prefix;
  if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
    throw new TypeError(`prefix option must be a valid Prometheus metric name prefix; received ${describe(prefix)}`);
  }
  const buckets: unknown = options.redisLatencyBuckets ?? prometheusMetricsDefaults.redisLatencyBuckets;
  if (!Array.isArray(buckets) || buckets.length === 0 || !buckets.every((b) => typeof b === 'number' && b > 0)) {
    throw new TypeError(`redisLatencyBuckets option must be a list of positive seconds; received ${describe(buckets)}`);
  }
  const existing = registry.getSingleMetric(`${prefix}cache_hits_total`);
  if (existing) {
    throw new Error(`prometheusMetrics() was already called for this registry with prefix '${prefix}'; call it once`);
  }

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): PromClient.Counter<L> =>
    new prom.Counter({ name: `${prefix}${name}`, help, labelNames, registers: [registry] });
  const cache = {
    hit: counter('cache_hits_total', 'Requests or calls answered from the cache', ['cache']),
    miss: counter('cache_misses_total', 'Lookups that found nothing cached and ran the origin', ['cache']),
    bypass: counter('cache_bypasses_total', 'Lookups that skipped the cache (Redis unavailable or opted out)', [
      'cache',
      'reason',
    ]),
    stale: counter('cache_stale_total', 'Answers served stale from the cache', ['cache']),
    store: counter('cache_stores_total', 'Entries written to the cache', ['cache']),
    skip: counter('cache_skips_total', 'Results not stored, by reason (not cacheable, too large, ...)', [
      'cache',
      'reason',
    ]),
  };
  const rawBytes = counter('cache_stored_raw_bytes_total', 'Bytes of stored entries before compression', ['cache']);
  const storedBytes = counter('cache_stored_bytes_total', 'Bytes of stored entries as written to Redis', ['cache']);
  const savedBytes = counter('cache_compression_saved_bytes_total', 'Bytes saved by compressing stored entries', [
    'cache',
  ]);
  const limit = counter('rate_limit_decisions_total', 'Rate limiter decisions, by limiter and outcome', [
    'limiter',
    'outcome',
  ]);
  const session = {
    'store-error': counter(
      'session_store_errors_total',
      'Session store calls that failed, and requests left without a session because the store was unavailable',
      [],
    ),
    'fresh-start': counter('session_fresh_starts_total', 'Sessions restarted empty because stored data was bad', []),
    'too-large': counter('session_too_large_total', 'Sessions not saved because they exceeded the size limit', []),
  };
  const redisLatency: PromClient.Histogram<'operation'> = new prom.Histogram({
    name: `${prefix}redis_command_duration_seconds`,
    help: 'Duration of Redis calls made by the middlewares, in seconds',
    labelNames: ['operation'],
    buckets,
    registers: [registry],
  });
  new prom.Gauge({
    name: `${prefix}redis_connected`,
    help: 'Whether every Redis client of a concern is connected and ready (1) or not (0); absent in memory mode',
    labelNames: ['concern'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [concern, connected] of connectionStates()) this.set({ concern }, connected);
    },
  });
  new prom.Gauge({
    name: `${prefix}cache_invalidations_pending`,
    help: 'Invalidations waiting for Redis in this process (responseCache targets, queryCache tables); 0 when none',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [cache, count] of pendingCounts()) this.set({ cache }, count);
    },
  });
  const redisErrors = counter('redis_command_errors_total', 'Redis calls that failed, by operation and class', [
    'operation',
    'class',
  ]);

  for (const name of CACHES) {
    for (const metric of [cache.hit, cache.miss, cache.stale, cache.store]) metric.inc({ cache: name }, 0);
  }

  const limiters = new BoundedLabel(MAX_LABEL_VALUES);

  const record = (event: MiddlewareEvent): void => {
    switch (event.kind) {
      case 'cache': {
        if (event.outcome === 'skip' || event.outcome === 'bypass') {
          cache[event.outcome].inc({ cache: event.cache, reason: reasonLabel(event.reason) });
          return;
        }
        cache[event.outcome].inc({ cache: event.cache });
        if (event.outcome === 'store' && event.rawBytes !== undefined && event.storedBytes !== undefined) {
          rawBytes.inc({ cache: event.cache }, event.rawBytes);
          storedBytes.inc({ cache: event.cache }, event.storedBytes);
          savedBytes.inc({ cache: event.cache }, Math.max(0, event.rawBytes - event.storedBytes));
        }
        return;
      }
      case 'limit':
        limit.inc({ limiter: limiters.of(event.limiter), outcome: event.outcome });
        return;
      case 'session':
        session[event.outcome].inc();
        return;
      case 'redis': {
        const operation = operationLabel(event.operation);
        redisLatency.observe({ operation }, event.durationMs / 1000);
        if (event.error !== undefined) redisErrors.inc({ operation, class: redisErrorClass(event.error) });
        return;
      }
    }
  };
  // A metrics bug must never fail a request: the listener runs on the request path.
  const unsubscribe = onEvent((event) => {
    try {
      record(event);
    } catch {
      // ignored on purpose
    }
  });

  return {
    registry,
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    close: unsubscribe,
  };
}

function isPromClient(value: unknown): value is PromClientModule {
  const candidate = value as Partial<Record<'Counter' | 'Gauge' | 'Histogram', unknown>> | null;
  return ['Counter', 'Gauge', 'Histogram'].every((name) => typeof candidate?.[name as 'Counter'] === 'function');
}

function isRegistry(value: unknown): value is PromClient.Registry {
  const candidate = value as Partial<Record<'registerMetric' | 'metrics' | 'getSingleMetric', unknown>> | null;
  return typeof candidate?.registerMetric === 'function' && typeof candidate.getSingleMetric === 'function';
}
