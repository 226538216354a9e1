// Which clients each concern uses and how their connections fare: the source of the connected gauge and of redisHealth()'s reasons.
import { messageOf } from '../common/errors';
import type { RedisClient } from './create-redis';

/** The concerns that take a Redis client, as the `concern` label of the connected gauge. */
export const concerns = ['sessions', 'rate-limit', 'response-cache', 'ai-cache', 'query-cache'] as const;
/** One of {@link concerns}. */
export type Concern = (typeof concerns)[number];

interface Watch {
  lastError: string | undefined;
}

const watches = new WeakMap<RedisClient, Watch>();
const clientsOf = new Map<Concern, Set<WeakRef<RedisClient>>>();

/**
 * Starts remembering the last connection error of `client` (ioredis reports it only as an `error` event)
 * and forgets it once the client is ready again. Idempotent. Done by createRedis() for its clients and by
 * the first redisHealth() call for others (the listener also stops ioredis printing unhandled errors).
 */
export function watchConnection(client: RedisClient): void {
  if (watches.has(client)) return;
  const watch: Watch = { lastError: undefined };
  watches.set(client, watch);
  client.on('error', (error: unknown) => {
    watch.lastError = messageOf(error);
  });
  client.on('ready', () => {
    watch.lastError = undefined;
  });
}

/** The last connection error of a watched client since it was last ready, if any. */
export function lastConnectionError(client: RedisClient): string | undefined {
  return watches.get(client)?.lastError;
}

/** Records that `concern` uses `client` (at factory time), so the connected gauge covers it. */
export function registerClient(client: RedisClient, concern: Concern): void {
  let clients = clientsOf.get(concern);
  if (!clients) {
    clients = new Set();
    clientsOf.set(concern, clients);
  }
  for (const ref of clients) if (ref.deref() === client) return;
  clients.add(new WeakRef(client));
}

/**
 * Per concern that was given a client: 1 when every client it uses is connected and ready, else 0.
 * Concerns in memory mode (no client) are absent. Clients that were garbage-collected are dropped.
 */
export function connectionStates(): Map<Concern, 0 | 1> {
  const states = new Map<Concern, 0 | 1>();
  for (const [concern, clients] of clientsOf) {
    let connected: 0 | 1 = 1;
    let alive = 0;
    for (const ref of clients) {
      const client = ref.deref();
      if (client === undefined) {
        clients.delete(ref);
        continue;
      }
      // A client that was quit on purpose is no longer the concern's client.
      if (client.status === 'end') continue;
      alive += 1;
      if (client.status !== 'ready') connected = 0;
    }
    if (alive > 0) states.set(concern, connected);
  }
  return states;
}
