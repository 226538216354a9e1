// Which clients each concern uses and how their connections fare: the source of the connected gauge and of redisHealth()'s reasons.
import { messageOf } from '../common/errors';
import type { RedisClient } from './create-redis';

/** The concerns that take a Redis client, as the `concern` label of the connected gauge. */
export const concerns = ['sessions', 'rate-limit', 'response-cache', 'ai-cache', 'query-cache'] as const;
/** One of {@link concerns}. */
export type Concern = (typeof concerns)[number];

interface Watch {
  lastError: string | undefined;
  /** Redis answered and refused this client (password, ACL, database): retrying as is will not help. */
  refusal: string | undefined;
}

/** Replies that refuse the client itself, at connection time. */
const REFUSAL = /^(NOAUTH|WRONGPASS|NOPERM)\b|^ERR (DB index is out of range|invalid DB index|invalid password|AUTH\b)/;
/** A database the server does not have: ioredis logs the SELECT failure and goes on with database 0. */
const BAD_DATABASE = /^ERR (DB index is out of range|invalid DB index)/;

const watches = new WeakMap<RedisClient, Watch>();
const clientsOf = new Map<Concern, Set<WeakRef<RedisClient>>>();

/**
 * Starts remembering the last connection error of `client` (ioredis reports it only as an `error` event)
 * and whether Redis refused the client (NOAUTH, WRONGPASS, NOPERM, a database it does not have), and
 * forgets them once the client is ready again. Idempotent. Done by createRedis() for its clients and by
 * the first redisHealth() call for others (the listener also stops ioredis printing unhandled errors).
 *
 * ioredis answers a SELECT of a database the server lacks by carrying on in database 0, where this
 * package would then read and write another concern's keys. With `closeOnBadDatabase` (createRedis's
 * clients) such a client is closed at once; either way the refusal stays until the process restarts.
 */
export function watchConnection(client: RedisClient, { closeOnBadDatabase = false } = {}): void {
  if (watches.has(client)) return;
  const watch: Watch = { lastError: undefined, refusal: undefined };
  let badDatabase = false;
  watches.set(client, watch);
  client.on('error', (error: unknown) => {
    const message = messageOf(error);
    watch.lastError = message;
    if (BAD_DATABASE.test(message)) {
      badDatabase = true;
      watch.refusal = `${message}: the database this client selects does not exist on this Redis${closeOnBadDatabase ? ' (client closed)' : ''}`;
      if (closeOnBadDatabase) client.disconnect();
    } else if (REFUSAL.test(message)) {
      watch.refusal = message;
    }
  });
  client.on('ready', () => {
    watch.lastError = undefined;
    if (!badDatabase) watch.refusal = undefined;
  });
}

/** The last connection error of a watched client since it was last ready, if any. */
export function lastConnectionError(client: RedisClient): string | undefined {
  return watches.get(client)?.lastError;
}

/** Why Redis refused a watched client (password, ACL, missing database), if it did. */
export function connectionRefusal(client: RedisClient): string | undefined {
  return watches.get(client)?.refusal;
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
