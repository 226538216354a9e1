// createRedis(): an ioredis client for standalone, Sentinel or Cluster, from options or the environment.
import { Cluster, Redis } from 'ioredis';
import { type Duration, describe, parseDuration } from '../common/duration';
import {
  assertKnownOptions,
  assertOptionsObject,
  type OptionDefaults,
  parseBoolean,
  parseInteger,
} from '../common/validate';
import { type ClientBounds, clusterOptions, nodeOptions, sentinelOptions } from './client-settings';
import { watchConnection } from './connections';
import { traceRedisClient } from './trace';

/** The Redis clients every factory accepts. */
export type RedisClient = Redis | Cluster;

/** A `host:port` pair; strings such as `'10.0.0.5:26379'` or `'[::1]:6379'` are accepted too. */
export type HostPort = { host: string; port: number } | string;

/** Client settings shared by every topology. */
export interface CreateRedisOptions {
  /**
   * Longest a command may wait for its answer, including time queued while (re)connecting.
   * @default '500ms'
   */
  commandTimeout?: Duration | undefined;
  /**
   * Longest a connection attempt may take before it is retried.
   * @default '1s'
   */
  connectTimeout?: Duration | undefined;
  /**
   * Logical database (standalone and Sentinel only; a `TypeError` on Cluster, which has only db 0).
   * Overrides the database in a URL. Use one per concern to keep them apart. May be given in the target instead.
   * @default 0, or the URL's database
   */
  db?: number | undefined;
  /**
   * Send the commands issued in one tick as one pipeline (fewer round trips under load).
   * @default true
   */
  enableAutoPipelining?: boolean | undefined;
}

/** Every option of `createRedis()` with its default (`undefined`: none). */
export const createRedisDefaults = {
  commandTimeout: '500ms',
  connectTimeout: '1s',
  db: undefined,
  enableAutoPipelining: true,
} as const satisfies OptionDefaults<CreateRedisOptions>;

/** A standalone Redis by URL: `{ url: 'redis://host:6379/0' }`. */
export interface RedisUrlTarget {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Logical database, overriding the URL's. @default the URL's database, or 0 */
  db?: number | undefined;
}

/** A primary found through Redis Sentinel. */
export interface RedisSentinelTarget {
  /** Sentinel addresses, as a list or `'host:port,host:port'`. */
  sentinels: HostPort[] | string;
  /** The primary's name as the sentinels know it. */
  name: string;
  /** Password of the Redis nodes (not the sentinels). @default none */
  password?: string | undefined;
  /** Password of the sentinels, when they require one. @default none */
  sentinelPassword?: string | undefined;
  /** Logical database. @default the `db` option, else 0 */
  db?: number | undefined;
}

/** Redis Cluster seed nodes (there is only db 0: key prefixes separate the concerns). */
export interface RedisClusterTarget {
  /** Seed nodes, as a list or `'host:port,host:port'`. */
  cluster: HostPort[] | string;
  /** Password of the nodes. @default none */
  password?: string | undefined;
}

/** Where the Redis is: a URL, a Sentinel group or Cluster seed nodes. */
export type RedisTarget = string | RedisUrlTarget | RedisSentinelTarget | RedisClusterTarget;

/** The fields of each target kind (none has a default beyond what its TSDoc says). */
export const redisTargetDefaults = {
  url: { url: undefined, db: undefined } satisfies OptionDefaults<RedisUrlTarget>,
  sentinel: {
    sentinels: undefined,
    name: undefined,
    password: undefined,
    sentinelPassword: undefined,
    db: undefined,
  } satisfies OptionDefaults<RedisSentinelTarget>,
  cluster: { cluster: undefined, password: undefined } satisfies OptionDefaults<RedisClusterTarget>,
} as const;

/**
 * Creates an ioredis client configured for a web request path: no command waits longer than
 * `commandTimeout`, reconnects never stop, Sentinel failovers and Cluster redirections are followed.
 *
 * @example createRedis('redis://127.0.0.1:6379/0')
 * @example createRedis({ sentinels: 'sentinel-1:26379,sentinel-2:26379', name: 'mymaster' }, { db: 2 })
 * @example createRedis({ cluster: ['10.0.0.1:7000', '10.0.0.2:7000'] })
 */
export function createRedis(target: RedisTarget, options: CreateRedisOptions = {}): RedisClient {
  const client = buildClient(target, options);
  traceRedisClient(client);
  watchConnection(client, { closeOnBadDatabase: true });
  return client;
}

function buildClient(target: RedisTarget, options: CreateRedisOptions): RedisClient {
  assertOptionsObject(options, 'createRedis');
  assertKnownOptions(options, createRedisDefaults);
  const bounds = parseBounds(options);
  const optionDb = options.db === undefined ? undefined : parseInteger(options.db, 'db', 0, 0);

  if (typeof target === 'string') return new Redis(withDatabase(parseUrl(target), optionDb), nodeOptions(bounds));
  if (target === null || typeof target !== 'object' || Array.isArray(target)) throw targetError(target);
  if ('cluster' in target) {
    const targetDb = (target as { db?: unknown }).db;
    if (targetDb !== undefined || (optionDb !== undefined && optionDb !== 0)) {
      throw new TypeError(
        `db option cannot be used with Redis Cluster, which has only db 0; key prefixes separate the concerns there (received db ${describe(targetDb ?? optionDb)})`,
      );
    }
    assertKnownOptions(target, redisTargetDefaults.cluster);
    const settings = clusterOptions(bounds);
    if (target.password !== undefined) settings.redisOptions = { ...settings.redisOptions, password: target.password };
    return new Cluster(parseHostList(target.cluster, 'cluster'), settings);
  }
  if ('sentinels' in target) {
    assertKnownOptions(target, redisTargetDefaults.sentinel);
    if (typeof target.name !== 'string' || target.name === '') {
      throw new TypeError(`name option must be the Sentinel primary name; received ${describe(target.name)}`);
    }
    const db = databaseOf(target, optionDb);
    return new Redis({
      ...sentinelOptions(bounds),
      sentinels: parseHostList(target.sentinels, 'sentinels'),
      name: target.name,
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
      ...(db === undefined ? {} : { db }),
    });
  }
  if ('url' in target) {
    assertKnownOptions(target, redisTargetDefaults.url);
    return new Redis(withDatabase(parseUrl(target.url), databaseOf(target, optionDb)), nodeOptions(bounds));
  }
  // No field names the topology: a misspelt one (`sentinel`, `clusters`) gets its suggestion.
  assertKnownOptions(target, {
    ...redisTargetDefaults.url,
    ...redisTargetDefaults.sentinel,
    ...redisTargetDefaults.cluster,
  });
  throw targetError(target);
}

function targetError(target: unknown): TypeError {
  return new TypeError(
    `createRedis() target must be a redis:// URL, { url }, { sentinels, name } or { cluster: nodes }; received ${describe(target)}`,
  );
}

function parseUrl(url: unknown): string {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw new TypeError(`url must start with redis:// or rediss://; received ${describe(url)}`);
  }
  return url;
}

/** The target's `db`, or the options' one; both given must agree. */
function databaseOf(target: { db?: number | undefined }, optionDb: number | undefined): number | undefined {
  if (target.db === undefined) return optionDb;
  const db = parseInteger(target.db, 'db', 0, 0);
  if (optionDb !== undefined && optionDb !== db) {
    throw new TypeError(`db is given twice, ${db} in the target and ${optionDb} in the options; give it once`);
  }
  return db;
}

/**
 * Creates the client the environment describes: `REDIS_CLUSTER_NODES` (`host:port,…`), else
 * `REDIS_SENTINELS` (`host:port,…`) with `REDIS_SENTINEL_NAME`, else `REDIS_URL`.
 * Returns undefined when none is set, so a caller can run in memory mode.
 */
createRedis.fromEnv = function fromEnv(
  options: CreateRedisOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): RedisClient | undefined {
  const password = env.REDIS_PASSWORD || undefined;
  if (env.REDIS_CLUSTER_NODES) {
    return createRedis({ cluster: env.REDIS_CLUSTER_NODES, ...(password ? { password } : {}) }, options);
  }
  if (env.REDIS_SENTINELS) {
    if (!env.REDIS_SENTINEL_NAME) {
      throw new TypeError('REDIS_SENTINEL_NAME must name the Sentinel primary when REDIS_SENTINELS is set');
    }
    return createRedis(
      { sentinels: env.REDIS_SENTINELS, name: env.REDIS_SENTINEL_NAME, ...(password ? { password } : {}) },
      options,
    );
  }
  if (env.REDIS_URL) return createRedis(env.REDIS_URL, options);
  return undefined;
};

function parseBounds(options: CreateRedisOptions): ClientBounds {
  return {
    commandTimeoutMs: parseDuration(options.commandTimeout ?? createRedisDefaults.commandTimeout, 'commandTimeout'),
    connectTimeoutMs: parseDuration(options.connectTimeout ?? createRedisDefaults.connectTimeout, 'connectTimeout'),
    enableAutoPipelining: parseBoolean(
      options.enableAutoPipelining,
      'enableAutoPipelining',
      createRedisDefaults.enableAutoPipelining,
    ),
  };
}

/** Parses `'host:port,host:port'` or a list of `host:port` strings and `{ host, port }` objects. */
export function parseHostList(value: unknown, optionName: string): Array<{ host: string; port: number }> {
  const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (!Array.isArray(items) || items.length === 0) {
    throw new TypeError(`${optionName} option must list host:port addresses; received ${describe(value)}`);
  }
  return items.map((item) => {
    if (isObject(item) && typeof item.host === 'string' && Number.isInteger(item.port)) {
      return { host: item.host, port: item.port as number };
    }
    const match = typeof item === 'string' ? /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(item) : null;
    if (!match) {
      throw new TypeError(`${optionName} option must list host:port addresses; cannot read ${describe(item)}`);
    }
    return { host: match[1] as string, port: Number(match[2]) };
  });
}

/** The URL with its database path replaced by `db` (ioredis lets a URL's database win over options). */
function withDatabase(url: string, db: number | undefined): string {
  if (db === undefined) return url;
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
