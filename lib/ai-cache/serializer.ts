// Turns results into JSON text and back without silent changes: Date, Buffer, Map, Set, undefined, NaN round-trip.
import { AiCacheValueError } from './errors';

/** The property that marks a value JSON cannot express. A plain object that has it is escaped, so decoding is exact. */
const TAG = '$rm';
const TAG_NEEDLE = `"${TAG}"`;

type Tagged = { [TAG]: string; v?: unknown };

/**
 * Serialises a result as JSON text. Supported: strings, numbers (also NaN, ±Infinity, -0), booleans,
 * null, undefined, bigint, arrays, plain objects, Date, Buffer, Uint8Array, Map and Set, nested freely.
 * @throws AiCacheValueError for anything that would come back different (class instances, functions,
 *   symbols, circular structures), naming the property where it was found.
 */
export function encodeValue(value: unknown): string {
  const escaped = new WeakSet<object>();
  function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
    const original = this[key];
    switch (typeof original) {
      case 'string':
      case 'boolean':
        return original;
      case 'number':
        if (Object.is(original, -0)) return tag('number', '-0');
        return Number.isFinite(original) ? original : tag('number', String(original));
      case 'undefined':
        return tag('undefined');
      case 'bigint':
        return tag('bigint', original.toString());
      case 'function':
      case 'symbol':
        throw reject(`a ${typeof original}`, key);
    }
    if (original === null || original === undefined) return null;
    if (escaped.has(original)) return original;
    if (Array.isArray(original)) return original;
    if (original instanceof Date) return tag('date', Number.isNaN(original.getTime()) ? null : original.toISOString());
    if (Buffer.isBuffer(original)) return tag('buffer', original.toString('base64'));
    if (original instanceof Uint8Array && Object.getPrototypeOf(original) === Uint8Array.prototype) {
      return tag('bytes', Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64'));
    }
    if (original instanceof Map) return tag('map', [...original]);
    if (original instanceof Set) return tag('set', [...original]);
    const proto: unknown = Object.getPrototypeOf(original);
    if (proto !== Object.prototype && proto !== null) {
      const name = (original as { constructor?: { name?: string } }).constructor?.name ?? 'an unknown class';
      throw reject(`an instance of ${name}`, key);
    }
    if (value !== original) throw reject('an object with its own toJSON()', key);
    if (Object.hasOwn(original, TAG)) {
      escaped.add(original);
      return tag('object', original);
    }
    return original;
  }
  try {
    return JSON.stringify(value, replacer);
  } catch (error) {
    if (error instanceof AiCacheValueError) throw error;
    throw new AiCacheValueError(`aiCache cannot store this result: ${(error as Error).message}`);
  }
}

/** Parses text written by {@link encodeValue}. */
export function decodeValue(text: string): unknown {
  const parsed: unknown = JSON.parse(text);
  return text.includes(TAG_NEEDLE) ? revive(parsed) : parsed;
}

function tag(kind: string, v?: unknown): Tagged {
  return v === undefined ? { [TAG]: kind } : { [TAG]: kind, v };
}

function reject(what: string, key: string): AiCacheValueError {
  const where = key === '' ? 'the result' : `property "${key}"`;
  return new AiCacheValueError(
    `aiCache cannot store ${what} (at ${where}) without changing it: return plain data (objects, arrays, strings, ` +
      'numbers, booleans, null, Date, Buffer, Map, Set), or convert it before returning',
  );
}

function revive(node: unknown): unknown {
  if (node === null || typeof node !== 'object') return node;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = revive(node[i]);
    return node;
  }
  const record = node as Record<string, unknown>;
  const kind = record[TAG];
  if (typeof kind === 'string') return untag(kind, record.v);
  for (const key of Object.keys(record)) {
    const child = record[key];
    const revived = revive(child);
    if (revived !== child) {
      Object.defineProperty(record, key, { value: revived, writable: true, enumerable: true, configurable: true });
    }
  }
  return record;
}

function untag(kind: string, v: unknown): unknown {
  switch (kind) {
    case 'undefined':
      return undefined;
    case 'number':
      return Number(v);
    case 'bigint':
      return BigInt(v as string);
    case 'date':
      return new Date(v === null ? Number.NaN : (v as string));
    case 'buffer':
      return Buffer.from(v as string, 'base64');
    case 'bytes':
      return new Uint8Array(Buffer.from(v as string, 'base64'));
    case 'map':
      return new Map(revive(v) as Array<[unknown, unknown]>);
    case 'set':
      return new Set(revive(v) as unknown[]);
    case 'object': {
      const record = v as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        Object.defineProperty(record, key, {
          value: revive(record[key]),
          writable: true,
          enumerable: true,
          configurable: true,
        });
      }
      return record;
    }
    default:
      throw new Error(`unknown tag ${kind}`);
  }
}
