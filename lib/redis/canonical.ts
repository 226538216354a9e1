// Canonical JSON (sorted object keys) and the SHA-256 hashes every key pattern uses.
import { createHash } from 'node:crypto';

/** Hex characters kept from a SHA-256 digest in keys (128 bits: collisions are not a practical concern). */
export const HASH_LENGTH = 32;

/**
 * Serialises `value` as JSON with object keys sorted at every depth, so `{a:1,b:2}` and `{b:2,a:1}`
 * give the same text. Follows `JSON.stringify` (`toJSON`, `undefined` dropped in objects and `null` in
 * arrays) and adds what JSON lacks: `BigInt` as `"<digits>n"`, `Map` as sorted entries, `Set` as a list.
 * @throws TypeError on a circular structure.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set()) ?? 'null';
}

/** SHA-256 of the canonical JSON of `value`, as the first {@link HASH_LENGTH} hex characters. */
export function hashCanonical(value: unknown): string {
  return sha256Hex(canonicalJson(value)).slice(0, HASH_LENGTH);
}

/** Full SHA-256 hex digest of a string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function write(value: unknown, ancestors: Set<object>): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      return JSON.stringify(`${value}n`);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  const object = value as object & { toJSON?: () => unknown };
  if (typeof object.toJSON === 'function') return write(object.toJSON(), ancestors);
  if (ancestors.has(object)) throw new TypeError('cannot hash a circular structure');
  ancestors.add(object);
  try {
    if (Array.isArray(object)) return `[${object.map((item) => write(item, ancestors) ?? 'null').join(',')}]`;
    if (object instanceof Set) return write([...object], ancestors);
    const entries =
      object instanceof Map
        ? [...object].map(([k, v]) => [String(k), v] as const)
        : Object.keys(object).map((k) => [k, (object as Record<string, unknown>)[k]] as const);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const members: string[] = [];
    for (const [key, item] of entries) {
      const text = write(item, ancestors);
      if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(object);
  }
}
