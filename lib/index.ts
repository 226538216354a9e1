// The public API: the factories of the design, their option types, and the coded errors.
export type { Duration } from './common/duration';
export { errors, RedisMiddlewareError } from './common/errors';
export { type MiddlewareEvent, onEvent } from './common/events';
export { type CreateRedisOptions, createRedis, type RedisClient, type RedisTarget } from './redis';
