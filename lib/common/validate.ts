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

/**
 * The defaults object of an options type: it names every option (`undefined` where there is no static
 * default), so an option cannot be added to the type without being listed, nor listed without being typed.
 */
export type OptionDefaults<T> = { readonly [K in keyof Required<T>]: T[K] | undefined };

/**
 * Throws when `options` has a key `defaults` does not name (a key set to `undefined` counts as left out).
 * `path` prefixes the names in the message (`'cookie.'`, `'invalidate() '`); the message quotes the key as
 * written and the closest known name.
 */
export function assertKnownOptions(options: object, defaults: object, path = ''): void {
  const known = Object.keys(defaults);
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || Object.hasOwn(defaults, key)) continue;
    const closest = closestName(key, known);
    throw new TypeError(
      closest === undefined
        ? `${path}${key} option is not known; the known options are ${known.map((k) => path + k).join(', ')}`
        : `${path}${key} option is not known; did you mean ${path.endsWith('.') ? path : ''}${closest}?`,
    );
  }
}

/** The known name nearest to `name` (case-insensitive edit distance), when it is close enough to be a typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const wanted = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the name may be wrong (at least one character): `tll` → `ttl`, `onRedisErorr` → `onRedisError`.
  return bestDistance <= Math.max(1, Math.floor(wanted.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, at(i - 2, j - 2) + 1);
      }
      (rows[i] as number[])[j] = distance;
    }
  }
  return at(a.length, b.length);
}
