// Table invalidation: a new generation per table in Redis, local epochs, broadcast, and the shared outbox when Redis is down.
import { debugFor } from '../common/log';
import { countPendingWith } from '../common/pending-counts';
import { type Backend, Outbox } from '../redis';
import { generationKey, newToken } from './entry';
import { invalidateScript } from './scripts';

const debug = debugFor('query-cache');

/** The pub/sub channel every query cache instance listens on. */
export const INVALIDATION_CHANNEL = 'redis-middleware:db:invalidate';

/**
 * The process-local view of invalidations. `epoch(table)` changes whenever this process invalidates a
 * table or hears that another instance did; an in-flight load is only shared with callers that see
 * the same epochs. A table whose invalidation has not reached Redis is in the outbox: the cache is
 * bypassed for it in this process until it (or a later invalidation) lands.
 */
/** Every open invalidator of the process, for the invalidations-pending gauge. */
const open = new Set<Invalidator>();

countPendingWith('db', () => {
  let tables = 0;
  for (const invalidator of open) tables += invalidator.pending().length;
  return tables;
});

export class Invalidator {
  private readonly epochs = new Map<string, number>();
  private readonly instanceId = newToken();
  private readonly outbox: Outbox;
  private unsubscribe: Promise<(() => Promise<void>) | undefined> | undefined;

  constructor(
    private readonly backend: Backend,
    /** TTL of the generations it writes, in ms. */
    private readonly generationTtlMs: number,
  ) {
    this.outbox = new Outbox({
      concern: 'query-cache',
      code: 'W_QUERY_CACHE_INVALIDATION_PENDING',
      recoveredCode: 'W_QUERY_CACHE_INVALIDATION_RECOVERED',
      meanwhile: 'bypasses the cache',
      describe: (tables) => tables.map((table) => JSON.stringify(table)).join(', '),
      send: (tables) => this.write(tables),
    });
    open.add(this);
  }

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

  /** True while an invalidation of `table` has not reached Redis (in flight or being retried). */
  isPending(table: string): boolean {
    return this.outbox.has(table);
  }

  /** True when any of these tables has an invalidation that has not reached Redis. */
  anyPending(tables: readonly string[]): boolean {
    return this.outbox.size > 0 && tables.some((table) => this.outbox.has(table));
  }

  /** Tables whose invalidation failed and is being retried. */
  pending(): string[] {
    return this.outbox.ids().filter((table) => this.outbox.failed(table));
  }

  /**
   * Invalidates tables: bumps the local epochs at once, then writes a new generation for each table
   * (one command per table). Resolves to the tables Redis could not be told about, and the error.
   */
  async invalidate(tables: readonly string[]): Promise<{ failed: string[]; error: unknown }> {
    for (const table of tables) this.bump(table);
    let error: unknown;
    const outcomes = await Promise.allSettled(tables.map((table) => this.outbox.send([table])));
    const failed = tables.filter((_, i) => {
      const outcome = outcomes[i] as PromiseSettledResult<void>;
      if (outcome.status === 'rejected') error ??= outcome.reason;
      return outcome.status === 'rejected';
    });
    return { failed, error };
  }

  /** Stops retries and the subscription. Pending invalidations are abandoned (TTLs remain the backstop). */
  async close(): Promise<void> {
    this.outbox.close();
    open.delete(this);
    const unsubscribe = await this.unsubscribe;
    await unsubscribe?.();
  }

  /** One attempt: a new generation per table, then the epochs bumped again and every instance told. */
  private async write(tables: string[]): Promise<void> {
    await Promise.all(
      tables.map((table) =>
        this.backend.run(invalidateScript, [generationKey(table)], [newToken(), this.generationTtlMs]),
      ),
    );
    for (const table of tables) this.bump(table);
    const message = JSON.stringify({ from: this.instanceId, tables });
    this.backend.publish(INVALIDATION_CHANNEL, message).catch((error: unknown) => {
      debug('could not publish the invalidation of %o: %s', tables, error);
    });
  }

  private bump(table: string): void {
    this.epochs.set(table, this.epoch(table) + 1);
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
