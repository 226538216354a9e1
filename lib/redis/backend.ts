// The storage interface the cache and limiter middlewares use, so they run unchanged on Redis or in memory.
import type { ScriptDefinition, ScriptReply } from './script';

/** The default bound for one Redis call on a request path. */
export const DEFAULT_REDIS_TIMEOUT_MS = 500;

/**
 * A key-value store with TTLs, atomic scripts and pub/sub. Every method is bounded in time and rejects
 * only with `E_REDIS_TIMEOUT` or `E_REDIS_UNAVAILABLE` (see `errors`) when the store fails.
 */
export interface Backend {
  /** `redis` when backed by a Redis client, `memory` for the in-process store. */
  readonly kind: 'redis' | 'memory';
  /**
   * What the backend stores into: the Redis client (or the memory store). Backends of one scope (one
   * client, several `redisTimeout`s) share what depends on the data, such as pending invalidations.
   */
  readonly scope: object;
  /** Longest one call may take, in ms (`redisTimeout`). */
  readonly timeoutMs: number;
  /** The value as bytes, or null when absent. */
  get(key: string): Promise<Buffer | null>;
  /** Values of several keys in one round trip; the keys must share one hash tag (Cluster). */
  mget(...keys: string[]): Promise<Array<Buffer | null>>;
  /** Sets a value with a TTL in ms. */
  set(key: string, value: Buffer | string, ttlMs: number): Promise<void>;
  /** Sets a value only when the key is absent (a lock); true when it was set. */
  setIfAbsent(key: string, value: Buffer | string, ttlMs: number): Promise<boolean>;
  /** Deletes keys (each key on its own on Cluster); resolves to how many existed. */
  del(...keys: string[]): Promise<number>;
  /** Runs a script atomically. Keys must share one hash tag. */
  run<R extends ScriptReply>(script: ScriptDefinition<R>, keys: string[], args: Array<string | number>): Promise<R>;
  /** Publishes a message to every subscriber of the channel (every instance on this Redis). */
  publish(channel: string, message: string): Promise<void>;
  /** Subscribes to a channel; resolves once subscribed to the function that unsubscribes. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  /** True while calls fail fast because Redis recently timed out or is reconnecting (always false in memory). */
  isDown(): boolean;
  /** Releases what the backend opened itself (never the client it was given). */
  close(): Promise<void>;
}
