// Connects to the Redis the environment names, or decides on memory mode (with one warning line) when none answers.
import { warnOnce } from '../lib/common/log';
import { createRedis, type RedisClient } from '../lib/redis';

/** The Redis the example uses when the environment names none. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Where the environment says Redis is, for messages (passwords masked). */
export function describeTarget(env: NodeJS.ProcessEnv): string {
  if (env.REDIS_CLUSTER_NODES) return `Redis Cluster ${env.REDIS_CLUSTER_NODES}`;
  if (env.REDIS_SENTINELS) return `Sentinel ${env.REDIS_SENTINEL_NAME ?? '?'} at ${env.REDIS_SENTINELS}`;
  const url = env.REDIS_URL || DEFAULT_REDIS_URL;
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * The client for `REDIS_CLUSTER_NODES`, `REDIS_SENTINELS` + `REDIS_SENTINEL_NAME` or `REDIS_URL`
 * (default `redis://127.0.0.1:6379`), once it is ready; or undefined (memory mode, one warning line)
 * when it is not ready within `waitMs`.
 */
export async function connectRedis(env: NodeJS.ProcessEnv, waitMs = 2000): Promise<RedisClient | undefined> {
  const redis = createRedis.fromEnv({}, env) ?? createRedis(DEFAULT_REDIS_URL);
  if (redis.status !== 'ready' && !(await readyWithin(redis, waitMs))) {
    redis.disconnect();
    warnOnce(
      'W_MEMORY_MODE',
      `no Redis answered at ${describeTarget(env)} within ${waitMs} ms; running in memory mode (caches, limits and sessions live in this process only)`,
    );
    return undefined;
  }
  return redis;
}

/** Whether the client becomes ready within `waitMs` (connection errors meanwhile are retried, not fatal). */
function readyWithin(redis: RedisClient, waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, waitMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}
