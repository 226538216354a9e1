// Table invalidation: a new generation per table in Redis, local epochs, broadcast, and retry when Redis is down.
import { messageOf } from '../common/errors';
import { debugFor, warn } from '../common/log';
import type { Backend } from '../redis';
import { generationKey, newToken } from './entry';
import { invalidateScript } from './scripts';

const debug = debugFor('query-cache');

/** The pub/sub channel every query cache instance listens on. */
export const INVALIDATION_CHANNEL = 'redis-middleware:db:invalidate';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/**
 * The process-local view of invalidations. `epoch(table)` changes whenever this process invalidates a
 * table or hears that another instance did; an in-flight load is only shared with callers that see
 * the same epochs. A table whose invalidation could not reach Redis is `pending`: the cache is
 * bypassed for it in this process until a retry (or a later invalidation) succeeds.
 */
export class Invalidator {
  private readonly epochs = new Map<string, number>();
  private readonly retries = new Map<string, { timer: NodeJS.Timeout | undefined; delayMs: number }>();
  private readonly instanceId = newToken();
  /** When the current outage began (the first table became pending), for the recovery line. */
  private outageStartedAt: number | undefined;
  private unsubscribe: Promise<(() => Promise<void>) | undefined> | undefined;
  private closed = false;

  constructor(
    private readonly backend: Backend,
    /** TTL of the generations it writes, in ms. */
    private readonly generationTtlMs: number,
  ) {}

  /** Starts listening to other instances' invalidations (in the background; failures are logged). */
  listen(): void {
    this.unsubscribe = this.backend
      .subscribe(INVALIDATION_CHANNEL, (message) => this.onMessage(message))
      .catch((error: unknown) => {
        debug('could not subscribe to %s: %s', INVALIDATION_CHANNEL, error);
        return undefined;
      });
  }

  /** The local epoch of a table (0 until it is first invalidated). */
  epoch(table: string): number {
    return this.epochs.get(table) ?? 0;
  }

  /** True while an invalidation of `table` failed to reach Redis and is being retried. */
  isPending(table: string): boolean {
    return this.retries.has(table);
  }

  /** True when any of these tables has an invalidation being retried. */
  anyPending(tables: readonly string[]): boolean {
    if (this.retries.size === 0) return false;
    return tables.some((table) => this.retries.has(table));
  }

  /** Tables whose invalidation is being retried. */
  pending(): string[] {
    return [...this.retries.keys()];
  }

  /**
   * Invalidates tables: bumps the local epochs at once, then writes a new generation for each table
   * (one command per table). Resolves to the tables Redis could not be told about, and the error.
   */
  async invalidate(tables: readonly string[]): Promise<{ failed: string[]; error: unknown }> {
    for (const table of tables) this.bump(table);
    let error: unknown;
    const outcomes = await Promise.all(
      tables.map((table) =>
        this.write(table).then(
          () => true,
          (cause: unknown) => {
            error = cause;
            return false;
          },
        ),
      ),
    );
    const done = tables.filter((_, i) => outcomes[i]);
    const failed = tables.filter((_, i) => !outcomes[i]);
    for (const table of done) this.settle(table);
    for (const table of failed) this.scheduleRetry(table, error);
    if (done.length > 0) this.broadcast(done);
    return { failed, error };
  }

  /** Stops retries and the subscription. Pending invalidations are abandoned (TTLs remain the backstop). */
  async close(): Promise<void> {
    this.closed = true;
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
    this.outageStartedAt = undefined;
    const unsubscribe = await this.unsubscribe;
    await unsubscribe?.();
  }

  private write(table: string): Promise<number> {
    return this.backend.run(invalidateScript, [generationKey(table)], [newToken(), this.generationTtlMs]);
  }

  private bump(table: string): void {
    this.epochs.set(table, this.epoch(table) + 1);
  }

  private settle(table: string): void {
    const retry = this.retries.get(table);
    if (!retry) return;
    clearTimeout(retry.timer);
    this.retries.delete(table);
    debug('invalidation of %s reached Redis; cache reads resume', table);
    if (this.retries.size === 0 && this.outageStartedAt !== undefined) {
      const seconds = ((Date.now() - this.outageStartedAt) / 1000).toFixed(1);
      this.outageStartedAt = undefined;
      warn(
        'W_QUERY_CACHE_INVALIDATION_RECOVERED',
        `every pending invalidation reached Redis after ${seconds} s; cache reads resume for those tables`,
      );
    }
  }

  /** Retries an invalidation later. The first table to become pending logs one line for the whole outage. */
  private scheduleRetry(table: string, cause?: unknown): void {
    if (this.closed) return;
    if (this.retries.size === 0 && this.outageStartedAt === undefined) {
      this.outageStartedAt = Date.now();
      warn(
        'W_QUERY_CACHE_INVALIDATION_PENDING',
        `could not invalidate ${JSON.stringify(table)} in Redis (${messageOf(cause)}); this process bypasses the cache ` +
          'for every table whose invalidation is pending and retries in the background (one line when all have reached Redis; ' +
          'DEBUG=redis-middleware:query-cache names each table)',
      );
    } else if (!this.retries.has(table)) {
      debug('invalidation of %s pending too: %s', table, messageOf(cause));
    }
    const existing = this.retries.get(table);
    const delayMs = existing ? Math.min(existing.delayMs * 2, MAX_RETRY_MS) : FIRST_RETRY_MS;
    if (existing?.timer) clearTimeout(existing.timer);
    const retry = { timer: undefined as NodeJS.Timeout | undefined, delayMs };
    this.retries.set(table, retry);
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      this.write(table).then(
        () => {
          if (this.retries.get(table) !== retry) return;
          this.bump(table);
          this.settle(table);
          this.broadcast([table]);
        },
        (error: unknown) => {
          debug('retrying the invalidation of %s failed: %s', table, error);
          if (this.retries.get(table) === retry) this.scheduleRetry(table, error);
        },
      );
    }, delayMs);
    retry.timer.unref();
  }

  private broadcast(tables: string[]): void {
    const message = JSON.stringify({ from: this.instanceId, tables });
    this.backend.publish(INVALIDATION_CHANNEL, message).catch((error: unknown) => {
      debug('could not publish the invalidation of %o: %s', tables, error);
    });
  }

  private onMessage(message: string): void {
    try {
      const { from, tables } = JSON.parse(message) as { from?: unknown; tables?: unknown };
      if (from === this.instanceId || !Array.isArray(tables)) return;
      for (const table of tables) if (typeof table === 'string') this.bump(table);
    } catch (error) {
      debug('ignored a malformed invalidation message: %s', error);
    }
  }
}
