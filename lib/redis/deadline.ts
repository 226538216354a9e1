// Bounds a Redis call in time, whatever the client does: a frozen Redis or a stuck Cluster queue still answers.
import { RedisTimeoutError } from '../common/errors';

/**
 * Resolves or rejects like `promise`, or rejects with `RedisTimeoutError` after `timeoutMs`.
 * A late rejection of `promise` is absorbed so it never becomes an unhandled rejection.
 */
export function withDeadline<T>(promise: Promise<T>, timeoutMs: number, operation: string, key?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisTimeoutError(operation, timeoutMs, key)), timeoutMs);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A call waiting for its reply, in the order of its deadline. */
interface Pending {
  at: number;
  settled: boolean;
  reject: (error: Error) => void;
  operation: string;
  key: string | undefined;
}

/**
 * {@link withDeadline} for many calls with ONE time bound: their deadlines come in call order, so one
 * timer, armed for the oldest unsettled call, serves them all (a call costs no timer of its own; the
 * client's own `commandTimeout`, when set, is then the only timer per command).
 */
export class Deadlines {
  private queue: Pending[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  /** Like `withDeadline(promise, timeoutMs, operation, key)`. */
  bound<T>(promise: Promise<T>, operation: string, key?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { at: Date.now() + this.timeoutMs, settled: false, reject, operation, key };
      this.queue.push(pending);
      if (this.timer === undefined) this.arm(this.timeoutMs);
      promise.then(
        (value) => {
          pending.settled = true;
          resolve(value);
        },
        (error: unknown) => {
          pending.settled = true;
          reject(error);
        },
      );
    });
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.sweep(), ms);
    this.timer.unref();
  }

  /** Fails every call past its deadline, drops the settled ones, and re-arms for the oldest left. */
  private sweep(): void {
    this.timer = undefined;
    const now = Date.now();
    const queue = this.queue;
    while (this.head < queue.length) {
      const pending = queue[this.head] as Pending;
      if (!pending.settled) {
        if (pending.at > now) break;
        pending.settled = true;
        pending.reject(new RedisTimeoutError(pending.operation, this.timeoutMs, pending.key));
      }
      this.head++;
    }
    if (this.head === queue.length) {
      this.queue = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024) {
      this.queue = queue.slice(this.head);
      this.head = 0;
    }
    this.arm(Math.max(1, (this.queue[this.head] as Pending).at - now));
  }
}
