// Factory-time handling of the options every middleware shares: `redis` and `redisTimeout`.
import { type Duration, describe, parseDuration } from '../common/duration';
import type { OptionDefaults } from '../common/validate';
import { type Backend, DEFAULT_REDIS_TIMEOUT_MS } from './backend';
import { type Concern, registerClient } from './connections';

export { DEFAULT_REDIS_TIMEOUT_MS };

import type { RedisClient } from './create-redis';
import { sharedMemoryBackend } from './memory-backend';
import { redisBackendFor } from './redis-backend';

/** Options every factory accepts. */
export interface RedisConnectionOptions {
  /**
   * The ioredis `Redis` or `Cluster` client to use. Without one the middleware runs on the in-process
   * memory backend and prints one warning line. `undefined` (what `createRedis.fromEnv()` returns when the
   * environment names no Redis) is the same as leaving it out.
   * @default none (memory mode)
   */
  redis?: RedisClient | undefined;
  /**
   * Longest any Redis call of this middleware may take before it is treated as failed.
   * @default '500ms'
   */
  redisTimeout?: Duration | undefined;
}

/** The defaults of the options every factory accepts; each factory's defaults object spreads them. */
export const redisConnectionDefaults = {
  redis: undefined,
  redisTimeout: '500ms',
} as const satisfies OptionDefaults<RedisConnectionOptions>;

/** Checks that `value` is an ioredis client (not which kind: both kinds are used the same way). */
export function assertRedisClient(value: unknown, optionName = 'redis'): asserts value is RedisClient {
  const candidate = value as Partial<Record<'defineCommand' | 'duplicate' | 'getBuffer', unknown>> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.defineCommand !== 'function' ||
    typeof candidate.duplicate !== 'function' ||
    typeof candidate.getBuffer !== 'function'
  ) {
    throw new TypeError(
      `${optionName} option must be an ioredis Redis or Cluster client (see createRedis()), or left out for memory mode; received ${describe(value)}`,
    );
  }
}

/**
 * Parses `redis` and `redisTimeout` into the backend the middleware will use; with `concern`, the client
 * also counts as that concern's for the connected gauge.
 */
export function resolveBackend(options: RedisConnectionOptions, concern?: Concern): Backend {
  const timeoutMs = parseDuration(options.redisTimeout ?? redisConnectionDefaults.redisTimeout, 'redisTimeout');
  if (options.redis === undefined) return sharedMemoryBackend();
  assertRedisClient(options.redis);
  if (concern !== undefined) registerClient(options.redis, concern);
  return redisBackendFor(options.redis, timeoutMs);
}
