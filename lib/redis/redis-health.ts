// redisHealth(): whether a client can serve right now, asked with one bounded PING, never waiting past the timeout.
import { type Duration, parseDuration } from '../common/duration';
import { messageOf } from '../common/errors';
import { assertKnownOptions, assertOptionsObject, type OptionDefaults } from '../common/validate';
import { connectionRefusal, lastConnectionError, watchConnection } from './connections';
import type { RedisClient } from './create-redis';
import { withDeadline } from './deadline';
import { assertRedisClient } from './resolve';

/** Options of `redisHealth()`. */
export interface RedisHealthOptions {
  /**
   * Longest the PING may take before the client counts as down.
   * @default '500ms'
   */
  timeout?: Duration | undefined;
}

/** Every option of `redisHealth()` with its default. */
export const redisHealthDefaults = { timeout: '500ms' } as const satisfies OptionDefaults<RedisHealthOptions>;

/** What `redisHealth()` found. */
export interface RedisHealth {
  /** `'ok'` when Redis answered PING within the timeout, else `'down'`. */
  status: 'ok' | 'down';
  /** The client's connection status as ioredis reports it (`'ready'`, `'connecting'`, `'reconnecting'`, `'end'`, ...). */
  connection: string;
  /** Why it is down: the PING's failure, or the last connection error (`NOAUTH ...`, `connect ECONNREFUSED ...`). */
  reason?: string;
  /**
   * True when Redis answered and refused this client (NOAUTH, WRONGPASS, NOPERM, a database it does not
   * have): retrying with the same settings will not help, unlike a Redis that does not answer.
   */
  refused: boolean;
  /** Round trip of the PING in milliseconds, when it answered. */
  latencyMs?: number;
}

/** Connection states in which a PING would only wait in the offline queue. */
const NOT_CONNECTED = new Set(['wait', 'connecting', 'connect', 'reconnecting', 'close', 'disconnecting']);

/**
 * Asks `client` for a PONG within `timeout`; resolves (never rejects) with what it found. A client that
 * is still connecting gets the same `timeout` to become ready or fail: the answer then carries the
 * connection's error (`connect ECONNREFUSED …`, `WRONGPASS …`) instead of a PING queued behind it.
 * Throws a `TypeError` at once when `client` is not an ioredis client or `timeout` not a duration.
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
  assertKnownOptions(options, redisHealthDefaults);
  const timeoutMs = parseDuration(options.timeout ?? redisHealthDefaults.timeout, 'timeout');
  watchConnection(client);
  return check(client, timeoutMs);
}

async function check(client: RedisClient, timeoutMs: number): Promise<RedisHealth> {
  const deadline = performance.now() + timeoutMs;
  if (NOT_CONNECTED.has(client.status)) await connectionSettled(client, timeoutMs);
  const refusal = connectionRefusal(client);
  if (refusal !== undefined) return down(client, refusal, true);
  if (client.status !== 'ready') {
    return down(client, lastConnectionError(client) ?? `not connected (${client.status})`, false);
  }
  const started = performance.now();
  try {
    const reply = await withDeadline(client.ping(), Math.max(1, Math.round(deadline - started)), 'PING');
    if (reply !== 'PONG') return down(client, `PING answered ${reply}`, false);
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    return { status: 'ok', connection: client.status, refused: false, latencyMs };
  } catch (error) {
    return down(client, messageOf(error), false);
  }
}

function down(client: RedisClient, reason: string, refused: boolean): RedisHealth {
  return { status: 'down', connection: client.status, reason, refused };
}

/** Resolves when the client becomes ready, reports an error or ends, or after `timeoutMs`. */
function connectionSettled(client: RedisClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const settle = (): void => {
      clearTimeout(timer);
      for (const event of ['ready', 'error', 'end']) client.off(event, settle);
      // The error listeners of watchConnection ran first (added earlier): the reason is recorded.
      resolve();
    };
    const timer = setTimeout(settle, timeoutMs);
    timer.unref();
    for (const event of ['ready', 'error', 'end']) client.on(event, settle);
  });
}
