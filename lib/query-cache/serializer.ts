// Turns query results into text and back: JSON, plus tags for the types DB rows carry that JSON loses.

/**
 * A value the query cache can store and give back unchanged: `null`, booleans, numbers (also `NaN`,
 * `Infinity`, `-0`), strings, `Date`, `BigInt`, `Buffer`/`Uint8Array` (returned as `Buffer`), `undefined`
 * (as a whole result; properties set to `undefined` are left out, as JSON does), arrays and plain objects
 * of these (nested JSON columns included). Anything else (`Map`, `Set`, class
 * instances, functions, symbols, circular structures) is not stored: the loader's result is returned
 * as is and the cache reports a `skip` with reason `unserializable`.
 */
export type CacheableValue = unknown;

/** Marks a tagged string. User strings that start with it are escaped by doubling it. */
const TAG = '\u0000';
/** Format of a payload without any tag: read with a plain `JSON.parse` (the fast path). */
const PLAIN = 'J';
/** Format of a payload with tags: read with a reviver. */
const TAGGED = 'T';

/** Thrown when a result holds a value the serializer cannot keep. */
export class UnserializableError extends TypeError {}

/** Serialises a result as `<format><json>`. @throws UnserializableError for unsupported values. */
export function serialize(value: CacheableValue): string {
  const state = { tagged: false };
  const encoded = encode(value, state, new Set());
  return (state.tagged ? TAGGED : PLAIN) + JSON.stringify(encoded);
}

/** Reads what {@link serialize} wrote. @throws SyntaxError or TypeError when the text is not a payload. */
export function deserialize(text: string): CacheableValue {
  return deserializeAt(Buffer.from(text), 0);
}

/**
 * Reads a payload that starts at `offset` of a stored entry, decoding the bytes once (no copy of the
 * entry as a string first). @throws SyntaxError or TypeError when the bytes are not a payload.
 */
export function deserializeAt(bytes: Buffer, offset: number): CacheableValue {
  const format = bytes[offset];
  if (format === 74 /* J */) return JSON.parse(bytes.toString('utf8', offset + 1));
  if (format === 84 /* T */) return JSON.parse(bytes.toString('utf8', offset + 1), revive);
  throw new TypeError(`unknown query cache payload format ${JSON.stringify(String.fromCharCode(format ?? 0))}`);
}

function encode(value: unknown, state: { tagged: boolean }, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      if (value.startsWith(TAG)) {
        state.tagged = true;
        return TAG + value;
      }
      return value;
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      state.tagged = true;
      return `${TAG}f${Object.is(value, -0) ? '-0' : String(value)}`;
    case 'bigint':
      state.tagged = true;
      return `${TAG}n${value}`;
    case 'undefined':
      state.tagged = true;
      return `${TAG}u`;
    case 'function':
    case 'symbol':
      throw new UnserializableError(`cannot cache a ${typeof value}`);
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Date) {
    state.tagged = true;
    return `${TAG}d${object.getTime()}`;
  }
  if (object instanceof Uint8Array) {
    state.tagged = true;
    return `${TAG}b${Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('base64')}`;
  }
  if (ancestors.has(object)) throw new UnserializableError('cannot cache a circular structure');
  ancestors.add(object);
  try {
    if (Array.isArray(object)) return object.map((item) => encode(item, state, ancestors));
    const prototype = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new UnserializableError(`cannot cache a ${prototype?.constructor?.name ?? 'non-plain'} object`);
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(object)) {
      const item = (object as Record<string, unknown>)[key];
      // Like JSON, an `undefined` property is left out (no database row carries one).
      if (item !== undefined) out[key] = encode(item, state, ancestors);
    }
    return out;
  } finally {
    ancestors.delete(object);
  }
}

function revive(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || value.charCodeAt(0) !== 0) return value;
  const body = value.slice(2);
  switch (value.charAt(1)) {
    case TAG:
      return value.slice(1);
    case 'd':
      return new Date(body === 'NaN' ? Number.NaN : Number(body));
    case 'n':
      return BigInt(body);
    case 'b':
      return Buffer.from(body, 'base64');
    case 'f':
      return Number(body);
    case 'u':
      return undefined;
    default:
      throw new TypeError(`unknown query cache tag ${JSON.stringify(value.slice(0, 2))}`);
  }
}
