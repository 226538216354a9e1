// redisHealth(): whether a client can serve right now, asked with one bounded PING, never waiting past the timeout.
import { type Duration, parseDuration } from '../common/duration';
import { messageOf } from '../common/errors';
import { assertOptionsObject } from '../common/validate';
import { lastConnectionError, watchConnection } from './connections';
import type { RedisClient } from './create-redis';
import { withDeadline } from './deadline';
import { assertRedisClient } from './resolve';

/** Options of `redisHealth()`. */
export interface RedisHealthOptions {
  /**
   * Longest the PING may take before the client counts as down.
   * @default '500ms'
   */
  timeout?: Duration;
}

/** What `redisHealth()` found. */
export interface RedisHealth {
  /** `'ok'` when Redis answered PING within the timeout, else `'down'`. */
  status: 'ok' | 'down';
  /** The client's connection status as ioredis reports it (`'ready'`, `'connecting'`, `'reconnecting'`, `'end'`, ...). */
  connection: string;
  /** Why it is down: the PING's failure, or the last connection error (`NOAUTH ...`, `connect ECONNREFUSED ...`). */
  reason?: string;
  /** Round trip of the PING in milliseconds, when it answered. */
  latencyMs?: number;
}

/** Connection states in which a PING would only wait in the offline queue. */
const NOT_CONNECTED = new Set(['wait', 'connecting', 'connect', 'reconnecting', 'close', 'end', 'disconnecting']);

/**
 * Asks `client` for a PONG within `timeout`; resolves (never rejects) with what it found. Throws a
 * `TypeError` at once when `client` is not an ioredis client or `timeout` not a duration. While the client
 * is not connected it answers at once with the connection's last error instead of queueing a PING.
 *
 * @example
 * app.get('/health', async (_req, res) => {
 *   const health = await redisHealth(redis, { timeout: '250ms' });
 *   res.status(health.status === 'ok' ? 200 : 503).json(health);
 * });
 */
export function redisHealth(client: RedisClient, options: RedisHealthOptions = {}): Promise<RedisHealth> {
  // Bad arguments throw at once (a programming error), not as a rejection of the health check.
  assertRedisClient(client, 'client');
  assertOptionsObject(options, 'redisHealth');
  const timeoutMs = parseDuration(options.timeout ?? 500, 'timeout');
  watchConnection(client);
  return check(client, timeoutMs);
}

async function check(client: RedisClient, timeoutMs: number): Promise<RedisHealth> {
  const connection = client.status;
  if (NOT_CONNECTED.has(connection)) {
    return { status: 'down', connection, reason: lastConnectionError(client) ?? `not connected (${connection})` };
  }
  const started = performance.now();
  try {
    const reply = await withDeadline(client.ping(), timeoutMs, 'PING');
    if (reply !== 'PONG') return { status: 'down', connection: client.status, reason: `PING answered ${reply}` };
    return { status: 'ok', connection: client.status, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return { status: 'down', connection: client.status, reason: messageOf(error) };
  }
}
