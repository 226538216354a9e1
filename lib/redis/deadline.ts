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
