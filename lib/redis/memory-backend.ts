// The in-process backend: what every factory runs on when it is given no Redis client.
import { EventEmitter } from 'node:events';
import { warnOnce } from '../common/log';
import { type Backend, DEFAULT_REDIS_TIMEOUT_MS } from './backend';
import { MemoryStore, type MemoryStoreOptions } from './memory-store';
import type { ScriptDefinition, ScriptReply } from './script';

/** Runs everything in this process: fine for development and an app's own tests, not shared between processes. */
export class MemoryBackend implements Backend {
  readonly kind = 'memory' as const;
  /** Calls never wait on anything; the bound is the default `redisTimeout`. */
  readonly timeoutMs = DEFAULT_REDIS_TIMEOUT_MS;
  readonly store: MemoryStore;
  private readonly channels = new EventEmitter();

  constructor(options: MemoryStoreOptions = {}) {
    this.store = new MemoryStore(options);
    this.channels.setMaxListeners(0);
  }

  get scope(): object {
    return this.store;
  }

  async get(key: string): Promise<Buffer | null> {
    const value = this.store.get(key);
    if (value === undefined) return null;
    return Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  }

  async mget(...keys: string[]): Promise<Array<Buffer | null>> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  async set(key: string, value: Buffer | string, ttlMs: number): Promise<void> {
    this.store.set(key, toBuffer(value), ttlMs);
  }

  async setIfAbsent(key: string, value: Buffer | string, ttlMs: number): Promise<boolean> {
    if (this.store.get(key) !== undefined) return false;
    this.store.set(key, toBuffer(value), ttlMs);
    return true;
  }

  async del(...keys: string[]): Promise<number> {
    return keys.filter((key) => this.store.delete(key)).length;
  }

  async run<R extends ScriptReply>(
    script: ScriptDefinition<R>,
    keys: string[],
    args: Array<string | number>,
  ): Promise<R> {
    return script.memory(this.store, keys, args.map(String), Date.now());
  }

  async publish(channel: string, message: string): Promise<void> {
    this.channels.emit(channel, message);
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    this.channels.on(channel, listener);
    return async () => {
      this.channels.off(channel, listener);
    };
  }

  isDown(): boolean {
    return false;
  }

  async close(): Promise<void> {
    this.channels.removeAllListeners();
  }
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

let shared: MemoryBackend | undefined;

/**
 * The process-wide memory backend every factory without `redis` shares (so an invalidation reaches
 * every cache in the process). Prints one warning line the first time it is used.
 */
export function sharedMemoryBackend(): MemoryBackend {
  // warnOnce keeps it to one line per process (tests reset it to see the line again).
  warnOnce(
    'W_MEMORY_MODE',
    'no Redis client was given; caches, limits and sessions live in this process only (not shared between instances)',
  );
  shared ??= new MemoryBackend();
  return shared;
}
