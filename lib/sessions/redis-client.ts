// The Redis calls of the session store: each one bounded in time, breaker-guarded, and Cluster-wide where it must be.
import type { Redis } from 'ioredis';
import {
  type Backend,
  type ClientHealth,
  healthOf,
  type RedisClient,
  redisBackendFor,
  registerClient,
  withDeadline,
} from '../redis';
import { SessionUnavailableError } from './errors';
import { touchScript } from './touch-script';

/** How many keys one DEL/GET batch of the admin operations sends under one deadline. */
const BATCH = 100;

/**
 * The client interface connect-redis's `RedisStore` calls (`destroy`, `clear`, `length`, `ids` use it
 * unchanged), plus the calls our overrides make. Every failure is a `SessionUnavailableError`.
 */
export class SessionRedisClient {
  private readonly backend: Backend;
  private readonly health: ClientHealth;

  constructor(
    private readonly client: RedisClient,
    private readonly timeoutMs: number,
  ) {
    this.backend = redisBackendFor(client, timeoutMs);
    this.health = healthOf(client);
    registerClient(client, 'sessions');
  }

  async getBuffer(key: string): Promise<Buffer | null> {
    return this.guard('GET', key, () => this.backend.get(key));
  }

  async get(key: string): Promise<string | null> {
    const value = await this.getBuffer(key);
    return value === null ? null : value.toString('utf8');
  }

  /** SET with a TTL in milliseconds. */
  async setPx(key: string, value: string, ttlMs: number): Promise<void> {
    await this.guard('SET', key, () => this.backend.set(key, value, ttlMs));
  }

  /** connect-redis's signature: TTL in seconds. */
  async set(key: string, value: string, ttlSeconds?: number): Promise<string | null> {
    await this.setPx(key, value, (ttlSeconds ?? 86_400) * 1000);
    return 'OK';
  }

  async expire(key: string, ttlSeconds: number): Promise<number> {
    return this.guard('PEXPIRE', key, () =>
      this.bounded('PEXPIRE', key, () => this.client.pexpire(key, ttlSeconds * 1000)),
    );
  }

  /** Moves the expiry forward (see touchScript). */
  async touch(key: string, until: string, ttlMs: number): Promise<number> {
    return this.guard('TOUCH', key, () => this.backend.run(touchScript, [key], [until, Math.max(1, Math.ceil(ttlMs))]));
  }

  /** One DEL per key (keys of different Cluster slots cannot share a command), in bounded batches. */
  async del(keys: string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += BATCH) {
      const batch = keys.slice(i, i + BATCH);
      deleted += await this.guard('DEL', batch[0], () => this.backend.del(...batch));
    }
    return deleted;
  }

  /** One GET per key (no cross-slot MGET on Cluster), in bounded batches. */
  async mgetBuffers(keys: string[]): Promise<Array<Buffer | null>> {
    const values: Array<Buffer | null> = [];
    for (let i = 0; i < keys.length; i += BATCH) {
      const batch = keys.slice(i, i + BATCH);
      values.push(...(await this.guard('GET', batch[0], () => Promise.all(batch.map((key) => this.backend.get(key))))));
    }
    return values;
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    return (await this.mgetBuffers(keys)).map((value) => (value === null ? null : value.toString('utf8')));
  }

  /**
   * SCANs every primary. A Cluster client lists its primaries with `nodes('master')`; a client without
   * that method is one Redis (standalone or the Sentinel-chosen primary) and is scanned itself. This is
   * a capability check, not a client-type check: anything that can list its primaries is scanned on each.
   */
  scanIterator(match: string, count: number): AsyncIterable<string> {
    const primaries = this.primaries();
    const scanPage = (node: Redis, cursor: string) =>
      this.guard('SCAN', match, () =>
        this.bounded('SCAN', match, () => node.scan(cursor, 'MATCH', match, 'COUNT', count)),
      );
    return (async function* scanAll() {
      for (const node of primaries) {
        let cursor = '0';
        do {
          const [next, keys] = await scanPage(node, cursor);
          cursor = next;
          yield* keys;
        } while (cursor !== '0');
      }
    })();
  }

  private primaries(): Redis[] {
    const lister = (this.client as { nodes?: unknown }).nodes;
    if (typeof lister === 'function') return (lister as (role: string) => Redis[]).call(this.client, 'master');
    return [this.client as Redis];
  }

  /** A direct client call (not covered by the backend): fail fast when the breaker is open, else bound it. */
  private async bounded<T>(operation: string, key: string, send: () => Promise<T>): Promise<T> {
    if (this.health.isDown()) throw new Error('Redis is unavailable (recent timeout or reconnecting)');
    try {
      const result = await withDeadline(send(), this.timeoutMs, operation, key);
      this.health.record(undefined);
      return result;
    } catch (error) {
      this.health.record(error);
      throw error;
    }
  }

  /** Turns any failure into a coded `SessionUnavailableError`. */
  private async guard<T>(operation: string, key: string | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof SessionUnavailableError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new SessionUnavailableError(`session store failed during ${operation}: ${message}`, { key, cause: error });
    }
  }
}
