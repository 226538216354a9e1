// Revalidation of a stale entry (RFC 9111 §4.3): the handler's own validators sent to it, and a 304 merged into the entry.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import type { Explained, SkipReason } from '../common/reasons';
import { parseCacheControl } from './cache-control';
import type { CachedResponse } from './entry';
import { freshnessOf, storedLifetimeMs } from './freshness';
import type { ResponseCacheConfig } from './options';
import { listedInConnection, NOT_STORED_HEADERS } from './serve';

const CONDITIONAL_HEADERS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];

/**
 * Sets the conditions the handler sees on a miss: the client's conditional headers are hidden (so the
 * handler, and Express's own freshness check in `res.send`, produce the full response the cache can
 * store; the cache answers the client's condition itself), and a stale entry's own validators are sent
 * instead (RFC 9111 §4.3.1). Returns whether it sent validators, and the function that puts the
 * request back as it came (idempotent).
 */
export function conditionForHandler(
  req: Request,
  stale: CachedResponse | undefined,
): { validated: boolean; restore: () => void } {
  const hidden: Array<[string, string | string[]]> = [];
  for (const name of CONDITIONAL_HEADERS) {
    const value = req.headers[name];
    if (value === undefined) continue;
    hidden.push([name, value]);
    delete req.headers[name];
  }
  const validators = stale === undefined ? undefined : conditionalHeadersFor(stale);
  Object.assign(req.headers, validators);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    for (const name of Object.keys(validators ?? {})) delete req.headers[name];
    for (const [name, value] of hidden) if (req.headers[name] === undefined) req.headers[name] = value;
  };
  return { validated: validators !== undefined, restore };
}

/** The request headers of a conditional request for the entry (§4.3.1), or undefined when the handler gave no validator. */
function conditionalHeadersFor(entry: CachedResponse): IncomingHttpHeaders | undefined {
  const headers: IncomingHttpHeaders = {};
  if (entry.ownEtag) headers['if-none-match'] = entry.etag;
  const lastModified = entry.headers.find(([name]) => name === 'last-modified')?.[1];
  if (typeof lastModified === 'string') headers['if-modified-since'] = lastModified;
  return Object.keys(headers).length === 0 ? undefined : headers;
}

/** Headers a 304 never replaces in the stored response (§3.2: its Content-Length is about the 304). */
const NOT_UPDATED = new Set(['content-length', 'x-cache']);

/**
 * The entry updated by the handler's 304 (§4.3.4): each header the 304 carries replaces the stored one
 * of that name, and the freshness is computed again from the merged headers. Returns the updated
 * entry (for the answer) and, when it may not be stored again, why.
 */
export function updateFrom304(
  entry: CachedResponse,
  answer: OutgoingHttpHeaders,
  config: ResponseCacheConfig,
  requestedAt: number,
): { entry: CachedResponse; skip: Explained<SkipReason> | undefined } {
  const merged = new Map(entry.headers);
  const hopByHop = listedInConnection(answer.connection);
  for (const [name, value] of Object.entries(answer)) {
    if (value === undefined || NOT_STORED_HEADERS.has(name) || NOT_UPDATED.has(name) || hopByHop.has(name)) continue;
    merged.set(name, Array.isArray(value) ? value.map(String) : String(value));
  }
  const now = Date.now();
  const headers = Object.fromEntries(merged) as OutgoingHttpHeaders;
  const freshness = freshnessOf(headers, requestedAt, now);
  const lifetimeMs = storedLifetimeMs(freshness, config.ttl);
  const directives = parseCacheControl(headers['cache-control']);
  const updated: CachedResponse = {
    ...entry,
    headers: [...merged],
    etag: typeof headers.etag === 'string' ? headers.etag : entry.etag,
    ownCacheControl: entry.ownCacheControl || answer['cache-control'] !== undefined,
    storedAt: now,
    ageMs: freshness.ageMs,
    freshMs: lifetimeMs ?? 0,
  };
  const refused = (['no-store', 'private', 'no-cache'] as const).find((directive) => directives.has(directive));
  let skip: Explained<SkipReason> | undefined;
  if (refused !== undefined) skip = { reason: refused, detail: `the 304 says Cache-Control: ${refused}` };
  else if (lifetimeMs === undefined) {
    skip = { reason: 'not-fresh', detail: 'the 304 leaves the entry without freshness' };
  }
  return { entry: updated, skip };
}
