// Revalidation of a stale entry (RFC 9111 §4.3): the handler's own validators sent to it, and a 304 merged into the entry.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Explained, SkipReason } from '../common/reasons';
import { parseCacheControl } from './cache-control';
import type { CachedResponse } from './entry';
import { freshnessOf, storedLifetimeMs } from './freshness';
import type { ResponseCacheConfig } from './options';
import { listedInConnection, NOT_STORED_HEADERS } from './serve';

/** The request headers of a conditional request for the entry (§4.3.1), or undefined when the handler gave no validator. */
export function conditionalHeadersFor(entry: CachedResponse): IncomingHttpHeaders | undefined {
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
  const refused = (['no-store', 'private'] as const).find((directive) => directives.has(directive));
  let skip: Explained<SkipReason> | undefined;
  if (refused !== undefined) skip = { reason: refused, detail: `the 304 says Cache-Control: ${refused}` };
  else if (directives.has('no-cache') || lifetimeMs === undefined) {
    skip = { reason: 'not-fresh', detail: 'the 304 leaves the entry without freshness' };
  }
  return { entry: updated, skip };
}
