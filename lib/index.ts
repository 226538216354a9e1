// The public API: the six factories of the design, their option and result types, coded errors and the metrics hook.
export {
  type AiCacheOptions,
  AiCacheValueError,
  type AiCallControls,
  type AiFunction,
  AiStreamIdleError,
  aiCache,
  type CachedAiFunction,
  CachedFailureError,
  type CachedReturn,
  type Codec,
  type Settled,
  type WarmOptions,
  type WarmReport,
} from './ai-cache';
export { type Code, codes, type ErrorCode, type WarningCode } from './common/codes';
export type { Duration } from './common/duration';
export { PayloadTooLargeError, RedisMiddlewareError, RedisTimeoutError, RedisUnavailableError } from './common/errors';
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
export {
  type PromClientModule,
  type PrometheusMetrics,
  type PrometheusMetricsOptions,
  type PromRegistry,
  prometheusMetrics,
} from './metrics';
export {
  type Query,
  type QueryCache,
  type QueryCacheOptions,
  QueryInvalidationError,
  queryCache,
  type TableList,
} from './query-cache';
export {
  type DecisionSource,
  type RateLimitDecision,
  type RateLimitMiddleware,
  type RateLimitOptions,
  type RedisFailurePolicy,
  rateLimit,
  type WindowLimit,
  type WindowState,
} from './rate-limit';
export {
  type Concern,
  type CreateRedisOptions,
  createRedis,
  type HostPort,
  type RedisClient,
  type RedisClusterTarget,
  type RedisConnectionOptions,
  type RedisHealth,
  type RedisHealthOptions,
  type RedisSentinelTarget,
  type RedisTarget,
  type RedisUrlTarget,
  redisHealth,
} from './redis';
export {
  type CacheableStatus,
  type InvalidateTarget,
  type ResponseCacheMiddleware,
  type ResponseCacheOptions,
  ResponseInvalidationError,
  type ResponseInvalidationTargets,
  responseCache,
} from './response-cache';
export {
  isSessionUnavailable,
  type SessionCookieOptions,
  type SessionErrorHandlerOptions,
  type SessionsMiddleware,
  type SessionsOptions,
  SessionTooLargeError,
  SessionUnavailableError,
  sessions,
} from './sessions';
