// traceRedisClient(): DEBUG=redis-middleware:redis logging of what a client does (connects, drops, failovers).
import type { Redis } from 'ioredis';
import { messageOf } from '../common/errors';
import { debugFor } from '../common/log';
import type { RedisClient } from './create-redis';

const debug = debugFor('redis');

type Listener = (...args: unknown[]) => void;

/**
 * Logs the connection life of `client` under `DEBUG=redis-middleware:redis`: connecting, ready, dropped,
 * reconnect delays, Sentinel failovers followed, Cluster nodes added and removed, and errors.
 * Also adds an `error` listener, so a client that cannot connect never crashes the process with an
 * unhandled `error` event. Returns the function that stops tracing.
 */
export function traceRedisClient(client: RedisClient, name = 'redis'): () => void {
  const where = (): string => {
    const stream = (client as Redis).stream as { remoteAddress?: string; remotePort?: number } | undefined;
    return stream?.remoteAddress ? `${stream.remoteAddress}:${stream.remotePort}` : 'cluster or not connected';
  };
  const listeners: Record<string, Listener> = {
    connect: () => debug('%s: connected to %s', name, where()),
    ready: () => debug('%s: ready (%s)', name, where()),
    close: () => debug('%s: connection closed', name),
    reconnecting: (delay) => debug('%s: reconnecting in %d ms', name, delay),
    end: () => debug('%s: ended (no more reconnects)', name),
    error: (error) => debug('%s: error: %s', name, messageOf(error)),
    sentinelReconnecting: () => debug('%s: asking the sentinels for the primary again', name),
    failoverSubscribed: () => debug('%s: watching the sentinels for +switch-master (failover detection)', name),
    '+node': (node) => debug('%s: cluster node added %s', name, nodeName(node)),
    '-node': (node) => debug('%s: cluster node removed %s', name, nodeName(node)),
    'node error': (error, key) => debug('%s: cluster node %s error: %s', name, key, messageOf(error)),
    refresh: () => debug('%s: cluster slots refreshed', name),
  };
  for (const [event, listener] of Object.entries(listeners)) client.on(event, listener);
  return () => {
    for (const [event, listener] of Object.entries(listeners)) client.off(event, listener);
  };
}

function nodeName(node: unknown): string {
  const options = (node as { options?: { host?: string; port?: number } } | undefined)?.options;
  return options ? `${options.host}:${options.port}` : 'unknown';
}
