// Observability: the Prometheus adapter over the middleware events, and DEBUG tracing of a Redis client.
export type { PromClientModule, PromRegistry } from './prom-client';
export { type PrometheusMetrics, type PrometheusMetricsOptions, prometheusMetrics } from './prometheus';
