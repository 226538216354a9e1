// The public API: the six factories of the design, their option types, coded errors and the metrics hook.
export {
  type AiCacheOptions,
  type AiCallControls,
  type AiFunction,
  aiCache,
  type CachedAiFunction,
} from './ai-cache';
export { type Code, codes, type ErrorCode, type WarningCode } from './common/codes';
export type { Duration } from './common/duration';
export { RedisMiddlewareError } from './common/errors';
export { type CacheName, type MiddlewareEvent, onEvent } from './common/events';
export {
  type BypassReason,
  bypassReasons,
  type SkipReason,
  type StaleReason,
  skipReasons,
  staleReasons,
} from './common/reasons';
export { errors } from './errors';
export { type PrometheusMetrics, type PrometheusMetricsOptions, prometheusMetrics } from './metrics';
export { type Query, type QueryCache, type QueryCacheOptions, queryCache } from './query-cache';
export {
  type RateLimitDecision,
  type RateLimitMiddleware,
  type RateLimitOptions,
  rateLimit,
  type WindowLimit,
} from './rate-limit';
export {
  type Concern,
  type CreateRedisOptions,
  createRedis,
  type RedisClient,
  type RedisHealth,
  type RedisHealthOptions,
  type RedisTarget,
  redisHealth,
} from './redis';
export { type ResponseCacheMiddleware, type ResponseCacheOptions, responseCache } from './response-cache';
export { type SessionsMiddleware, type SessionsOptions, sessions } from './sessions';
