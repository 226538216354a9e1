// A per-client circuit breaker: after Redis times out or drops, calls fail fast for a short cool-down.
import { RedisTimeoutError } from '../common/errors';
import type { RedisClient } from './create-redis';

/** Reply errors that mean "this Redis cannot serve right now", not "this command was wrong". */
const UNAVAILABLE_REPLY = /^(CLUSTERDOWN|LOADING|MASTERDOWN|READONLY|TRYAGAIN|BUSY)\b/;
/** Client states in which a command would only wait in a queue. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end']);

/**
 * Shared by everything that uses one client, so a request that would make several calls to a dead
 * Redis waits for at most one of them.
 */
export class ClientHealth {
  private openUntil = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly cooldownMs: number,
  ) {}

  /** True when calls should not be attempted now. */
  isDown(now = Date.now()): boolean {
    return now < this.openUntil || DOWN_STATES.has(this.client.status);
  }

  /** Records the outcome of a call; only failures that speak of availability open the breaker. */
  record(error: unknown, now = Date.now()): void {
    if (error === undefined) {
      this.openUntil = 0;
    } else if (isUnavailability(error)) {
      this.openUntil = now + this.cooldownMs;
    }
  }
}

/** Whether an error says Redis is unreachable, slow or failing over (as opposed to a bad command). */
export function isUnavailability(error: unknown): boolean {
  if (error instanceof RedisTimeoutError) return true;
  if (!(error instanceof Error)) return true;
  if (error.name === 'ReplyError') return UNAVAILABLE_REPLY.test(error.message);
  return true;
}

const healthByClient = new WeakMap<RedisClient, ClientHealth>();

/** The breaker of a client, created on first use; every middleware on that client shares it. */
export function healthOf(client: RedisClient, cooldownMs = 1000): ClientHealth {
  let health = healthByClient.get(client);
  if (!health) {
    health = new ClientHealth(client, cooldownMs);
    healthByClient.set(client, health);
  }
  return health;
}
