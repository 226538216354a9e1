// A stored response as one Buffer: a JSON head (status, headers, times, codec) then the body, gzip above a threshold.
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Format version; entries of another version are treated as misses. */
const VERSION = 2;

/** A response as it is served from the cache. */
export interface CachedResponse {
  status: number;
  /** Response headers as stored (lower-case names; no Set-Cookie, hop-by-hop, Age or X-Cache; Date always). */
  headers: Array<[string, string | string[]]>;
  body: Buffer;
  /** Strong validator of the stored body (or the handler's own ETag). */
  etag: string;
  /** Whether the handler set the ETag itself (then it is a validator the handler can answer a conditional request on). */
  ownEtag: boolean;
  /** Whether the handler set Cache-Control itself (then it is served as is). */
  ownCacheControl: boolean;
  /** Lower-case request header names the response varies on. */
  vary: string[];
  /** The normalised values of those request headers when it was stored (null: absent). */
  varyValues: Record<string, string | null>;
  /** When it was stored (ms since the epoch). */
  storedAt: number;
  /** Its age when it was stored (RFC 9111 §4.2.3 corrected initial age), in ms. */
  ageMs: number;
  /** How long it is fresh (its freshness lifetime, counted from age 0), stale-while-revalidate and stale-if-error usable, in ms. */
  freshMs: number;
  swrMs: number;
  sieMs: number;
  /** Tags, invalidation path and endpoint: what invalidation matches on. */
  tags: string[];
  path: string;
  endpoint: string;
}

interface Head extends Omit<CachedResponse, 'body'> {
  v: number;
  codec: 'identity' | 'gzip';
}

/** Encodes an entry; bodies above `compressAbove` bytes are gzip-compressed (the codec is recorded). */
export async function encodeEntry(entry: CachedResponse, compressAbove: number): Promise<Buffer> {
  const compress = entry.body.length > compressAbove;
  const body = compress ? await gzipAsync(entry.body) : entry.body;
  const { body: _body, ...rest } = entry;
  const head: Head = { v: VERSION, codec: compress ? 'gzip' : 'identity', ...rest };
  const headBytes = Buffer.from(JSON.stringify(head));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(headBytes.length, 0);
  return Buffer.concat([prefix, headBytes, body]);
}

/** Decodes an entry; throws on anything malformed (the caller treats that as a miss). */
export async function decodeEntry(data: Buffer): Promise<CachedResponse> {
  if (data.length < 4) throw new Error('entry too short');
  const headLength = data.readUInt32BE(0);
  if (headLength > data.length - 4) throw new Error('entry head truncated');
  const head = JSON.parse(data.subarray(4, 4 + headLength).toString('utf8')) as Head;
  if (head.v !== VERSION || typeof head.status !== 'number' || !Array.isArray(head.headers)) {
    throw new Error('entry of an unknown format');
  }
  const stored = data.subarray(4 + headLength);
  const body = head.codec === 'gzip' ? await gunzipAsync(stored) : Buffer.from(stored);
  const { v: _v, codec: _codec, ...rest } = head;
  return { ...rest, body };
}

/** Least time an entry with validators is kept past its freshness, for a conditional request to the handler. */
const MIN_KEEP_MS = 10_000;

/** Whether the entry carries a validator of the handler's own (its ETag or a Last-Modified): then it can be revalidated. */
export function hasValidators(entry: Pick<CachedResponse, 'ownEtag' | 'headers'>): boolean {
  return entry.ownEtag || entry.headers.some(([name]) => name === 'last-modified');
}

/**
 * Milliseconds the entry stays in Redis: what is left of its fresh life plus the longest stale
 * allowance; an entry with validators is kept as long again as it was fresh (at least 10 s), so a
 * stale one can be revalidated with a conditional request (RFC 9111 §4.3) rather than fetched again.
 */
export function storageMs(
  entry: Pick<CachedResponse, 'freshMs' | 'ageMs' | 'swrMs' | 'sieMs' | 'ownEtag' | 'headers'>,
): number {
  const keepMs = hasValidators(entry) ? Math.max(entry.freshMs, MIN_KEEP_MS) : 0;
  return Math.max(1, entry.freshMs - entry.ageMs + Math.max(entry.swrMs, entry.sieMs, keepMs));
}

/** The entry's current age (RFC 9111 §4.2.3: corrected initial age plus resident time), in ms. */
export function currentAgeMs(entry: Pick<CachedResponse, 'storedAt' | 'ageMs'>, now: number): number {
  return entry.ageMs + Math.max(0, now - entry.storedAt);
}
