// Redis status for GET /health: 'ok' when every client answers PING in time, 'memory' without Redis, 'down' (with why) otherwise.
import { type RedisClient, redisHealth } from '../lib';

/** The body of `GET /health`. */
export type HealthReport = { redis: 'ok' | 'memory' } | { redis: 'down'; reason: string };

/**
 * Asks each client (sessions and limits, then the caches when they have their own) for a PONG within
 * `timeoutMs`; never waits longer, never throws.
 */
export async function healthReport(
  clients: { redis: RedisClient; cacheRedis: RedisClient } | undefined,
  timeoutMs = 500,
): Promise<HealthReport> {
  if (clients === undefined) return { redis: 'memory' };
  const named: Array<[string, RedisClient]> = [['sessions and limits', clients.redis]];
  if (clients.cacheRedis !== clients.redis) named.push(['caches', clients.cacheRedis]);
  const results = await Promise.all(named.map(([, client]) => redisHealth(client, { timeout: timeoutMs })));
  const downAt = results.findIndex((result) => result.status !== 'ok');
  if (downAt < 0) return { redis: 'ok' };
  const [what] = named[downAt] as [string, RedisClient];
  return { redis: 'down', reason: `${what}: ${results[downAt]?.reason ?? 'no answer'}` };
}
