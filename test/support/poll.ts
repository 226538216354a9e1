// Polls a condition until it holds: readiness is observed, never slept for.
import { setTimeout as delay } from 'node:timers/promises';

export interface PollOptions {
  /** What is awaited, for the error message. */
  what: string;
  /** @default 20000 */
  timeoutMs?: number;
  /** @default 50 */
  intervalMs?: number;
}

/** Resolves with the first truthy result of `check` (errors count as not yet); rejects after the timeout. */
export async function waitFor<T>(check: () => T | Promise<T>, options: PollOptions): Promise<NonNullable<T>> {
  const { what, timeoutMs = 20_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result) return result as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await delay(intervalMs);
  }
}
