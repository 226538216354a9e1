// The example's metrics: the library's Prometheus adapter, the model call counter and HTTP latency, on one registry.
import type { RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { type PrometheusMetrics, prometheusMetrics } from '../lib';

/** Everything `GET /metrics` shows, and the hooks that feed it. */
export interface AppMetrics {
  readonly registry: Registry;
  /** Counts a call that reached the stand-in model. */
  countModelCall(): void;
  /** How many calls reached the model so far. */
  modelCalls(): Promise<number>;
  /** Records each request's latency by method, route pattern and status. */
  readonly requestTimer: RequestHandler;
  /** Stops listening to the library's events. */
  close(): void;
}

/** Builds the registry of one app instance. */
export function createAppMetrics({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}): AppMetrics {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const library: PrometheusMetrics = prometheusMetrics({ registry });
  const modelCalls = new Counter({
    name: 'example_model_calls_total',
    help: 'Calls that reached the stand-in AI model (cache misses of the AI cache)',
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'example_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, in seconds, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  const requestTimer: RequestHandler = (req, res, next) => {
    const end = requestDuration.startTimer();
    res.on('finish', () => {
      // The route pattern, never the raw URL (unbounded label values).
      const route = req.route?.path === undefined ? 'unmatched' : `${req.baseUrl}${String(req.route.path)}`;
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };

  return {
    registry,
    countModelCall: () => modelCalls.inc(),
    modelCalls: async () => (await modelCalls.get()).values[0]?.value ?? 0,
    requestTimer,
    close: () => library.close(),
  };
}
