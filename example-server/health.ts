// Redis status for GET /health: 'ok' when it answers PING in time, 'memory' without Redis, 'down' otherwise.

import type { RedisClient } from '../lib/redis';
import { withDeadline } from '../lib/redis';

export type RedisStatus = 'ok' | 'memory' | 'down';

/** Client states in which a PING would only wait in the offline queue. */
const DISCONNECTED = new Set(['reconnecting', 'close', 'end', 'wait']);

/** Asks Redis for a PONG within `timeoutMs`; never waits longer, never throws. */
export async function redisStatus(redis: RedisClient | undefined, timeoutMs = 500): Promise<RedisStatus> {
  if (redis === undefined) return 'memory';
  if (DISCONNECTED.has(redis.status)) return 'down';
  try {
    return (await withDeadline(redis.ping(), timeoutMs, 'PING')) === 'PONG' ? 'ok' : 'down';
  } catch {
    return 'down';
  }
}
