// The one outbox of invalidations: targets on their way to Redis, bypassed meanwhile, retried with backoff, one warning per outage.

import type { WarningCode } from '../common/codes';
import { messageOf } from '../common/errors';
import { debugFor, warn } from '../common/log';

/** First wait before a retry; it doubles after each failed retry, up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 100;
/** Longest wait between two retries. */
const MAX_RETRY_MS = 5000;
/** Most targets one retry sends (the rest follow at once after a success). */
const RETRY_BATCH = 500;

/** What an outbox sends and how it speaks. */
export interface OutboxOptions<T> {
  /** The debug namespace (`query-cache`, `response-cache`). */
  concern: string;
  /** The warning line printed when an outage begins (one per outage). */
  code: WarningCode;
  /** The warning line printed when every pending target reached Redis; without it, a debug line. */
  recoveredCode?: WarningCode;
  /** What this process does meanwhile, for the warning line. */
  meanwhile: string;
  /** Names targets in messages. */
  describe(ids: readonly string[]): string;
  /** Sends an invalidation of the targets to Redis; rejects when Redis fails. */
  send(ids: string[]): Promise<T>;
  /** Told when nothing is pending any more (`true`) and when something is again (`false`). */
  onIdle?(idle: boolean): void;
}

interface Pending {
  /** Sequence number of the latest invalidation (or failure) of the target. */
  stamp: number;
  /** True once an attempt failed: the retry sends it. */
  failed: boolean;
}

/**
 * Targets (opaque ids such as `tag:recipes`) whose invalidation has not reached Redis yet: those on their
 * way (an invalidation in flight) and those that failed (retried in the background). While a target is
 * here, the caches of this process neither serve nor store what it covers. Each is stamped, so an
 * invalidation that succeeds clears only what was pending when it began.
 */
export class Outbox<T = void> {
  private readonly targets = new Map<string, Pending>();
  private readonly debug;
  private seq = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private retrying = false;
  private delayMs = FIRST_RETRY_MS;
  private since = 0;
  private closed = false;

  constructor(private readonly options: OutboxOptions<T>) {
    this.debug = debugFor(options.concern);
  }

  /** How many targets are pending (a size check: the hit path's only cost when it is 0). */
  get size(): number {
    return this.targets.size;
  }

  /** True while an invalidation of `id` has not reached Redis. */
  has(id: string): boolean {
    return this.targets.has(id);
  }

  /** The pending target ids. */
  ids(): string[] {
    return [...this.targets.keys()];
  }

  /** True while an attempt of `id` failed and its retry has not succeeded (not merely in flight). */
  failed(id: string): boolean {
    return this.targets.get(id)?.failed === true;
  }

  /**
   * Invalidates the targets now: they are pending from this call until Redis took them. Resolves when
   * it did; rejects with the Redis error when it failed (they stay pending and are retried).
   */
  async send(ids: readonly string[]): Promise<T> {
    const mark = this.stamp(ids);
    let result: T;
    try {
      result = await this.options.send([...ids]);
    } catch (error) {
      this.fail(ids, error);
      throw error;
    }
    this.settle(ids, mark);
    return result;
  }

  /** Stops the retries; what is pending is given up (its TTLs remain the backstop). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.targets.clear();
    this.failures = 0;
    this.options.onIdle?.(true);
  }

  private stamp(ids: readonly string[]): number {
    const mark = ++this.seq;
    if (this.targets.size === 0 && ids.length > 0) this.options.onIdle?.(false);
    for (const id of ids) {
      const pending = this.targets.get(id);
      if (pending) pending.stamp = mark;
      else this.targets.set(id, { stamp: mark, failed: false });
    }
    return mark;
  }

  private settle(ids: readonly string[], mark: number): void {
    for (const id of ids) {
      const pending = this.targets.get(id);
      if (pending === undefined || pending.stamp > mark) continue;
      if (pending.failed) this.failures--;
      this.targets.delete(id);
    }
    if (this.targets.size === 0) this.options.onIdle?.(true);
    if (this.failures > 0 || this.since === 0) return;
    const seconds = ((Date.now() - this.since) / 1000).toFixed(1);
    this.since = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.delayMs = FIRST_RETRY_MS;
    const line = `every pending invalidation reached Redis after ${seconds} s; the cache is used again for its targets`;
    if (this.options.recoveredCode) warn(this.options.recoveredCode, line);
    else this.debug(line);
  }

  private fail(ids: readonly string[], error: unknown): void {
    if (this.closed) {
      this.settle(ids, this.seq);
      return;
    }
    const first = this.failures === 0;
    if (this.targets.size === 0) this.options.onIdle?.(false);
    for (const id of ids) {
      const pending = this.targets.get(id) ?? { stamp: ++this.seq, failed: false };
      this.targets.set(id, pending);
      if (!pending.failed) this.failures++;
      pending.failed = true;
    }
    if (first && this.since === 0) {
      this.since = Date.now();
      // One line for the whole outage: what fails next, and every retry, only goes to DEBUG.
      warn(
        this.options.code,
        `could not invalidate ${this.options.describe(ids)} in Redis (${messageOf(error)}): this process ${this.options.meanwhile} ` +
          `for every target whose invalidation is pending and retries in the background ` +
          `(DEBUG=redis-middleware:${this.options.concern} names each)`,
      );
    } else {
      this.debug('invalidation of %s pending: %s', this.options.describe(ids), messageOf(error));
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.retrying || this.failures === 0 || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.retry();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Sends one batch of the failed targets; on failure waits longer (bounded) before the next. */
  private async retry(): Promise<void> {
    const ids: string[] = [];
    for (const [id, pending] of this.targets) {
      if (!pending.failed) continue;
      ids.push(id);
      if (ids.length >= RETRY_BATCH) break;
    }
    if (ids.length === 0) return;
    this.retrying = true;
    const mark = ++this.seq;
    try {
      await this.options.send(ids);
      this.delayMs = FIRST_RETRY_MS;
      this.settle(ids, mark);
    } catch (error) {
      this.debug('retrying the invalidation of %s failed: %s', this.options.describe(ids), messageOf(error));
      this.delayMs = Math.min(this.delayMs * 2, MAX_RETRY_MS);
    } finally {
      this.retrying = false;
    }
    this.schedule();
  }
}
