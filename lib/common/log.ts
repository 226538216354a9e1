// Logging: `debug` namespaces for why-decisions, and one-line warnings that are printed once per process.
import createDebug from 'debug';
import type { WarningCode } from './codes';

/** A `debug` logger under the package namespace, enabled with `DEBUG=redis-middleware:*`. */
export function debugFor(concern: string): createDebug.Debugger {
  return createDebug(`redis-middleware:${concern}`);
}

const warned = new Set<WarningCode>();

/** Prints `message` as a single warning line the first time `code` is seen in this process. */
export function warnOnce(code: WarningCode, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  console.warn(`[redis-middleware] ${code}: ${message}`);
}

/** Prints a single warning line every time (bad stored data, store errors worth an operator's eye). */
export function warn(code: WarningCode, message: string): void {
  console.warn(`[redis-middleware] ${code}: ${message}`);
}

/** For tests: forget which one-time warnings were already printed. */
export function resetWarnings(): void {
  warned.clear();
}
