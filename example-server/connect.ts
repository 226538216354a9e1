// Opens the Redis clients the environment names (sessions and limits on one database, caches on the next), or decides on memory mode.
import { createRedis, type RedisClient, redisHealth } from '../lib';

/** The Redis the example tries when the environment names none. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A start-up mistake: the process stops before it listens, with this message. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** The example's Redis: what sessions and limits use, and what the caches use (the same client on Cluster). */
export interface ExampleRedis {
  redis: RedisClient;
  cacheRedis: RedisClient;
  /** Where it is, for messages (passwords masked). */
  target: string;
  /** Why it does not answer yet, when it did not at start (the clients keep reconnecting). */
  notAnswering: string | undefined;
}

/** The result of {@link connectRedis}: Redis, or memory mode and why. */
export type Connection = ({ mode: 'redis' } & ExampleRedis) | { mode: 'memory'; why: string };

/** `env[name]`, with an empty value counted as not set. */
export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** A URL with its password masked. */
export function maskPassword(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** The database of a `redis://` URL: 0 without a path; a {@link StartupError} when the path is not a whole number. */
export function databaseOf(url: string, variable: string): number {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StartupError(
      `${variable} is not a URL: '${maskPassword(url)}' (expected redis://[:password@]host:port[/db])`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new StartupError(`${variable} must start with redis:// or rediss://; received '${maskPassword(url)}'`);
  }
  const path = decodeURIComponent(parsed.pathname).replace(/^\//, '');
  if (path === '') return 0;
  if (!/^\d{1,9}$/.test(path)) {
    throw new StartupError(
      `${variable} database '/${path}' is not a whole number: use redis://host:port/<db> with db 0, 1, 2, … (${maskPassword(url)})`,
    );
  }
  return Number(path);
}

/** Which clients the environment names; undefined when it names none. */
function clientsFromEnv(env: NodeJS.ProcessEnv): Omit<ExampleRedis, 'notAnswering'> | undefined {
  const cacheUrl = envValue(env, 'CACHE_REDIS_URL');
  if (cacheUrl !== undefined) databaseOf(cacheUrl, 'CACHE_REDIS_URL');
  const ownCaches = (fallback: () => RedisClient): RedisClient =>
    cacheUrl === undefined ? fallback() : createRedis(cacheUrl);
  const nodes = envValue(env, 'REDIS_CLUSTER_NODES');
  const sentinels = envValue(env, 'REDIS_SENTINELS');
  const url = envValue(env, 'REDIS_URL');
  // createRedis.fromEnv() counts empty variables as unset too; passing only the set ones keeps both in step.
  const named = Object.fromEntries(
    ['REDIS_CLUSTER_NODES', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_URL', 'REDIS_PASSWORD']
      .map((name) => [name, envValue(env, name)])
      .filter(([, value]) => value !== undefined),
  ) as NodeJS.ProcessEnv;
  try {
    if (nodes !== undefined) {
      // Cluster has only db 0: the key prefixes (session:, rate:, api:, ai:, db:) keep the concerns apart.
      const redis = createRedis.fromEnv({}, named) as RedisClient;
      return { redis, cacheRedis: ownCaches(() => redis), target: `Redis Cluster ${nodes}` };
    }
    if (sentinels !== undefined) {
      const redis = createRedis.fromEnv({ db: 0 }, named) as RedisClient;
      const target = `Sentinel ${envValue(env, 'REDIS_SENTINEL_NAME')} at ${sentinels}`;
      return { redis, cacheRedis: ownCaches(() => createRedis.fromEnv({ db: 1 }, named) as RedisClient), target };
    }
    if (url === undefined) return undefined;
    const db = databaseOf(url, 'REDIS_URL');
    const redis = createRedis(url);
    return { redis, cacheRedis: ownCaches(() => createRedis(url, { db: db + 1 })), target: maskPassword(url) };
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw new StartupError(`the Redis environment cannot be used: ${(error as Error).message}`);
  }
}

/**
 * The clients for `REDIS_CLUSTER_NODES`, `REDIS_SENTINELS` + `REDIS_SENTINEL_NAME` or `REDIS_URL`.
 * A named Redis is never replaced by memory mode: when it refuses at start (`NOAUTH`, `WRONGPASS`, a
 * database beyond `databases`, as `redisHealth()` tells) this rejects with a {@link StartupError} naming the
 * reason; when it does not answer within `waitMs`, the clients are returned anyway and keep reconnecting
 * (`notAnswering` says why).
 * With no Redis named, `redis://127.0.0.1:6379` is tried, and memory mode is chosen when nothing answers there.
 */
export async function connectRedis(env: NodeJS.ProcessEnv, waitMs = 2000): Promise<Connection> {
  const named = clientsFromEnv(env);
  const clients = named ?? {
    redis: createRedis(DEFAULT_REDIS_URL),
    cacheRedis: createRedis(DEFAULT_REDIS_URL, { db: 1 }),
    target: DEFAULT_REDIS_URL,
  };
  const roles: Array<[string, RedisClient]> = [['sessions and limits', clients.redis]];
  if (clients.cacheRedis !== clients.redis) roles.push(['caches', clients.cacheRedis]);
  const outcomes = await Promise.all(roles.map(([, client]) => redisHealth(client, { timeout: waitMs })));
  const refusedAt = outcomes.findIndex((outcome) => outcome.refused);
  const silent = outcomes.find((outcome) => outcome.status !== 'ok');
  if (refusedAt >= 0 || (named === undefined && silent !== undefined)) {
    for (const [, client] of roles) client.disconnect();
  }
  if (refusedAt >= 0) {
    const reason = outcomes[refusedAt]?.reason ?? 'refused';
    const role = (roles[refusedAt] as [string, RedisClient])[0];
    throw new StartupError(
      `Redis at ${clients.target} refused the ${role} connection: ${reason}${refusalHint(reason, role)}`,
    );
  }
  if (named === undefined && silent !== undefined) {
    return { mode: 'memory', why: `no Redis answered at ${DEFAULT_REDIS_URL} (${silent.reason ?? 'no answer'})` };
  }
  return { mode: 'redis', ...clients, notAnswering: silent === undefined ? undefined : (silent.reason ?? 'no answer') };
}

/** What to change, for the refusals people meet. */
function refusalHint(reason: string, role: string): string {
  if (/^(NOAUTH|WRONGPASS)/.test(reason)) {
    return ' (REDIS_URL takes it as redis://:password@host:port; Sentinel and Cluster nodes take REDIS_PASSWORD)';
  }
  if (/DB index/i.test(reason) && role === 'caches') {
    return " (the caches use the session database + 1; set CACHE_REDIS_URL to choose theirs, or raise Redis's `databases`)";
  }
  if (/DB index/i.test(reason)) return " (the database must be below Redis's `databases` setting, 16 by default)";
  return '';
}
