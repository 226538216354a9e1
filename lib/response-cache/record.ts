// What of a finished response the cache keeps: its headers (less those it never stores), validators and lifetimes.
import etag from 'etag';
import type { Request, Response } from 'express';
import type { CachedResponse } from './entry';
import { normaliseHeaderValue } from './key';
import type { ResponseCacheConfig } from './options';
import type { Storable } from './rules';
import { listedInConnection, NOT_STORED_HEADERS } from './serve';

/** What of the response is not in its headers. */
export interface RecordInput {
  /** Headers set before the route ran (JSON of each value): they belong to that request, not to the entry. */
  preset: ReadonlyMap<string, string>;
  vary: string[];
  storable: Storable;
  /** Whether the ETag on the response is the handler's own (see {@link setStrongEtag}). */
  ownEtag: boolean;
  /** What invalidation matches the entry on. */
  identity: Pick<CachedResponse, 'tags' | 'path' | 'endpoint'>;
}

/** The entry to store for a finished response; sets `Date` on the response when the handler did not. */
export function recordEntry(
  req: Request,
  res: Response,
  body: Buffer,
  config: ResponseCacheConfig,
  { preset, vary, storable, ownEtag, identity }: RecordInput,
): CachedResponse {
  const storedAt = Date.now();
  // The Date clients see on this answer and on every hit: the handler's, or now (RFC 9110 §6.6.1).
  if (res.getHeader('date') === undefined) res.setHeader('Date', new Date(storedAt).toUTCString());
  const ownCacheControl = res.getHeader('cache-control') !== undefined;
  const headers: CachedResponse['headers'] = [];
  const hopByHop = listedInConnection(res.getHeader('connection'));
  for (const [name, value] of Object.entries(res.getHeaders())) {
    if (value === undefined || NOT_STORED_HEADERS.has(name) || hopByHop.has(name)) continue;
    if (name === 'cache-control' && !ownCacheControl) continue;
    if (name !== 'date' && preset.get(name) === JSON.stringify(value)) continue;
    headers.push([name, Array.isArray(value) ? value.map(String) : String(value)]);
  }
  const varyValues: Record<string, string | null> = {};
  for (const name of vary) varyValues[name] = normaliseHeaderValue(req.headers[name]);
  return {
    status: res.statusCode,
    headers,
    body,
    etag: String(res.getHeader('etag') ?? etag(body)),
    ownEtag: ownEtag && res.getHeader('etag') !== undefined,
    ownCacheControl,
    vary,
    varyValues,
    storedAt,
    ageMs: storable.ageMs,
    freshMs: storable.lifetimeMs,
    swrMs: storable.mustRevalidate ? 0 : (storable.staleWhileRevalidateMs ?? config.staleWhileRevalidateMs),
    sieMs: storable.mustRevalidate ? 0 : (storable.staleIfErrorMs ?? config.staleIfErrorMs),
    ...identity,
  };
}

/**
 * Replaces a missing ETag, or the weak one Express computed itself, by a strong one from the body;
 * returns true when the ETag is the handler's own (kept as it is).
 */
export function setStrongEtag(req: Request, res: Response, body: Buffer): boolean {
  const current = res.getHeader('etag');
  const expressEtag = req.app?.get('etag fn') as ((body: Buffer, encoding?: string) => string) | undefined;
  if (current === undefined || (typeof expressEtag === 'function' && current === expressEtag(body))) {
    res.setHeader('ETag', etag(body));
    return false;
  }
  return true;
}
