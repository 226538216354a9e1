// Factory-time option checks that throw a TypeError naming the option and what it accepts.
import { describe } from './duration';

/** Throws unless `options` is a plain object (or undefined, when `optional`). */
export function assertOptionsObject(options: unknown, factory: string): asserts options is Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${factory}() takes one options object; received ${describe(options)}`);
  }
}

/** A whole number of at least `min` (default 0), or the default when undefined. */
export function parseInteger(value: unknown, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`${name} option must be a whole number of at least ${min}; received ${describe(value)}`);
  }
  return value;
}

/** A boolean, or the default when undefined. */
export function parseBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new TypeError(`${name} option must be true or false; received ${describe(value)}`);
  return value;
}

/** A function, or the default when undefined. */
export function parseFunction<T extends (...args: never[]) => unknown>(value: unknown, name: string, fallback: T): T;
export function parseFunction<T extends (...args: never[]) => unknown>(value: unknown, name: string): T | undefined;
export function parseFunction<T extends (...args: never[]) => unknown>(
  value: unknown,
  name: string,
  fallback?: T,
): T | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'function')
    throw new TypeError(`${name} option must be a function; received ${describe(value)}`);
  return value as T;
}

/** One of the listed strings, or the default when undefined. */
export function parseChoice<T extends string>(value: unknown, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw new TypeError(
      `${name} option must be one of ${choices.map((c) => `'${c}'`).join(', ')}; received ${describe(value)}`,
    );
  }
  return value as T;
}

/** A non-empty string without whitespace, or the default when undefined. */
export function parseName(value: unknown, name: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`${name} option must be a non-empty string; received ${describe(value)}`);
  }
  return value;
}
