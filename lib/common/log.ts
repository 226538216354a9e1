// Logging: `debug` namespaces for why-decisions, and one-line warnings that are printed once per process.
import createDebug from 'debug';
import type { WarningCode } from './codes';

/** A debug line: printf-style `format` and its arguments. */
export type DebugLogger = ((format: string, ...args: unknown[]) => void) & { readonly enabled: boolean };

/**
 * A `debug` logger under the package namespace, enabled with `DEBUG=redis-middleware:*`. An `Error`
 * argument is printed as its message: `%s` of an Error would print its whole stack, and a Redis outage
 * logs the same error many times, where one line each says all there is to say.
 */
export function debugFor(concern: string): DebugLogger {
  const debug = createDebug(`redis-middleware:${concern}`);
  const log = (format: string, ...args: unknown[]): void => {
    if (!debug.enabled) return;
    debug(format, ...args.map((arg) => (arg instanceof Error ? oneLine(arg) : arg)));
  };
  return Object.defineProperty(log, 'enabled', { get: () => debug.enabled }) as DebugLogger;
}

/** `Name: message`, with the causes' messages when there are any, on one line. */
function oneLine(error: Error): string {
  let text = `${error.name}: ${error.message}`;
  let cause = error.cause;
  for (let depth = 0; depth < 3 && cause instanceof Error; depth++) {
    if (!text.includes(cause.message)) text += ` (cause: ${cause.message})`;
    cause = cause.cause;
  }
  return text.replace(/\s*\n\s*/g, ' ');
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
