// The Redis backend: bounded, breaker-guarded calls on a client the application owns.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RedisMiddlewareError, RedisUnavailableError } from '../common/errors';
import { emitEvent, hasEventListeners } from '../common/events';
import type { Backend } from './backend';
import type { RedisClient } from './create-redis';
import { Deadlines, withDeadline } from './deadline';
import { type ClientHealth, healthOf } from './health';
import type { ScriptDefinition, ScriptReply } from './script';

/** One channel's listeners and the SUBSCRIBE every caller waits for. */
interface Subscription {
  listeners: Set<(message: string) => void>;
  ready: Promise<void>;
}

/** Backend over an ioredis `Redis` or `Cluster`. Closing it never closes the client it was given. */
export class RedisBackend implements Backend {
  readonly kind = 'redis' as const;
  private readonly health: ClientHealth;
  private readonly shas = new Map<ScriptDefinition, string>();
  private subscriber: RedisClient | undefined;
  private readonly subscriptions = new Map<string, Subscription>();
  /** One timer for every call's time bound (see {@link Deadlines}). */
  private readonly deadlines: Deadlines;

  constructor(
    readonly client: RedisClient,
    /** Longest any call may take, in ms. */
    readonly timeoutMs: number,
  ) {
    this.health = healthOf(client);
    this.deadlines = new Deadlines(timeoutMs);
  }

  get scope(): object {
    return this.client;
  }

  get(key: string): Promise<Buffer | null> {
    return this.call('GET', key, () => this.client.getBuffer(key));
  }

  /** Values of keys that share one hash tag, in one MGET. */
  mget(...keys: string[]): Promise<Array<Buffer | null>> {
    return this.call('MGET', keys[0], () => this.client.mgetBuffer(...keys));
  }

  async set(key: string, value: Buffer | string, ttlMs: number): Promise<void> {
    await this.call('SET', key, () => this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async setIfAbsent(key: string, value: Buffer | string, ttlMs: number): Promise<boolean> {
    const reply = await this.call('SET NX', key, () =>
      this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'),
    );
    return reply === 'OK';
  }

  async del(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    // One DEL per key: keys of different slots cannot share a command on Cluster.
    const counts = await this.call('DEL', keys[0], () => Promise.all(keys.map((key) => this.client.del(key))));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  run<R extends ScriptReply>(script: ScriptDefinition<R>, keys: string[], args: Array<string | number>): Promise<R> {
    const sha = this.shaOf(script);
    // EVALSHA/EVAL rather than defineCommand: a command defined while an autopipeline is pending for this
    // tick is missing from that pipeline, and ioredis then crashes the process ("results[i] is not iterable").
    return this.call(script.name, keys[0], () =>
      (this.client.evalsha(sha, keys.length, ...keys, ...args) as Promise<R>).catch((error: unknown) => {
        // NOSCRIPT: the script cache was flushed (or Redis restarted); EVAL sends and caches it again.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return this.client.eval(script.lua, keys.length, ...keys, ...args) as Promise<R>;
      }),
    );
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.call('PUBLISH', channel, () => this.client.publish(channel, message));
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    const subscriber = this.subscriberConnection();
    let subscription = this.subscriptions.get(channel);
    if (!subscription) {
      const created: Subscription = {
        listeners: new Set(),
        // ioredis re-subscribes by itself after a reconnect (autoResubscribe).
        ready: withDeadline(subscriber.subscribe(channel), this.timeoutMs * 4, 'SUBSCRIBE', channel).then(
          () => undefined,
          (error: unknown) => {
            // Forget the failed attempt so the next caller sends SUBSCRIBE again.
            if (this.subscriptions.get(channel) === created) this.subscriptions.delete(channel);
            throw error;
          },
        ),
      };
      subscription = created;
      this.subscriptions.set(channel, subscription);
    }
    await subscription.ready;
    const { listeners } = subscription;
    listeners.add(listener);
    return async () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.subscriptions.get(channel) === subscription) {
        this.subscriptions.delete(channel);
        await subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  isDown(): boolean {
    return this.health.isDown();
  }

  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.subscriptions.clear();
    if (subscriber) subscriber.disconnect();
  }

  /** One bounded call: fails fast while the breaker is open, records the outcome, reports timing. */
  private call<T>(operation: string, key: string | undefined, send: () => Promise<T>): Promise<T> {
    if (this.health.isDown()) {
      return Promise.reject(
        new RedisUnavailableError(operation, 'Redis is unavailable (recent timeout or reconnecting)', key),
      );
    }
    const started = hasEventListeners() ? performance.now() : 0;
    let sent: Promise<T>;
    try {
      sent = send();
    } catch (error) {
      sent = Promise.reject(error);
    }
    return this.deadlines.bound(sent, operation, key).then(
      (result) => {
        this.health.record(undefined);
        if (started) emitEvent({ kind: 'redis', operation, durationMs: performance.now() - started });
        return result;
      },
      (error: unknown) => {
        this.health.record(error);
        if (started) {
          emitEvent({ kind: 'redis', operation, durationMs: performance.now() - started, error: String(error) });
        }
        // Callers see one of two codes whatever the client raised: E_REDIS_TIMEOUT or E_REDIS_UNAVAILABLE.
        throw error instanceof RedisMiddlewareError ? error : new RedisUnavailableError(operation, error, key);
      },
    );
  }

  private shaOf(script: ScriptDefinition): string {
    let sha = this.shas.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script.lua).digest('hex');
      this.shas.set(script, sha);
    }
    return sha;
  }

  private subscriberConnection(): RedisClient {
    if (!this.subscriber) {
      // A connection of our own: a subscribed connection can run no other command.
      const subscriber: RedisClient = (this.client as Redis).duplicate();
      subscriber.on('error', () => undefined);
      subscriber.on('message', (channel: string, message: string) => {
        for (const listener of this.subscriptions.get(channel)?.listeners ?? []) listener(message);
      });
      this.subscriber = subscriber;
      // The application owns the client: when it quits, the connection we opened beside it goes too,
      // so nothing of ours keeps the process alive.
      this.client.once('end', () => void this.close());
    }
    return this.subscriber;
  }
}

const backends = new WeakMap<RedisClient, Map<number, RedisBackend>>();

/** The backend of a client and time bound; middlewares on one client share its breaker (and, per bound, one subscriber). */
export function redisBackendFor(client: RedisClient, timeoutMs: number): RedisBackend {
  let byTimeout = backends.get(client);
  if (!byTimeout) {
    byTimeout = new Map();
    backends.set(client, byTimeout);
  }
  let backend = byTimeout.get(timeoutMs);
  if (!backend) {
    backend = new RedisBackend(client, timeoutMs);
    byTimeout.set(timeoutMs, backend);
  }
  return backend;
}
