// The ioredis settings chosen for a web request path: bounded waits, endless reconnects, failovers followed.
import type { ClusterOptions, RedisOptions } from 'ioredis';

/** Longest reconnect back-off: a recovered Redis is used again within this long. */
export const MAX_RECONNECT_DELAY_MS = 1000;

/** Reconnect forever with a short, capped, jittered back-off (ioredis gives up never; neither do we). */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * After a Sentinel failover the old primary may answer `READONLY` until the client moves: reconnect
 * (which asks the sentinels for the new primary) and resend the command.
 */
export function reconnectOnReadonly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/** What the caller may tune; everything else follows from it. */
export interface ClientBounds {
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  enableAutoPipelining: boolean;
}

/** Settings for one node connection (standalone, Sentinel-managed, or a Cluster node). */
export function nodeOptions(bounds: ClientBounds): RedisOptions {
  return {
    // Every command, queued or sent, fails after this long instead of the default "forever".
    commandTimeout: bounds.commandTimeoutMs,
    connectTimeout: bounds.connectTimeoutMs,
    // ioredis retries a command 20 times across reconnects by default; a web request cannot wait that long.
    maxRetriesPerRequest: 1,
    // Commands issued while (re)connecting wait in the queue, bounded by commandTimeout.
    enableOfflineQueue: true,
    retryStrategy: reconnectDelay,
    reconnectOnError: reconnectOnReadonly,
    enableAutoPipelining: bounds.enableAutoPipelining,
  };
}

/** Extra settings when the primary is found through Sentinel. */
export function sentinelOptions(bounds: ClientBounds): RedisOptions {
  return {
    ...nodeOptions(bounds),
    role: 'master',
    sentinelRetryStrategy: reconnectDelay,
    sentinelCommandTimeout: bounds.connectTimeoutMs,
    // Subscribe to +switch-master so a failover is followed at once, not at the next connection error.
    failoverDetector: true,
    updateSentinels: true,
  };
}

/** Cluster settings: short redirection and failover delays; node connections get the node settings. */
export function clusterOptions(bounds: ClientBounds): ClusterOptions {
  const { enableAutoPipelining, ...redisOptions } = nodeOptions(bounds);
  return {
    redisOptions,
    enableAutoPipelining,
    enableOfflineQueue: true,
    clusterRetryStrategy: reconnectDelay,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    maxRedirections: 16,
    slotsRefreshTimeout: bounds.connectTimeoutMs,
    // Primaries only: a cache read from a lagging replica could serve what was just invalidated.
    scaleReads: 'master',
  };
}
