// Writes a cached response (HIT or STALE), and answers conditional requests with 304 (RFC 9110 §13.1.2, §15.4.5).
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import fresh from 'fresh';
import { type CachedResponse, currentAgeMs } from './entry';
import type { ResponseCacheConfig } from './options';

/** Response headers never stored: per-connection, per-response, or written by the cache itself. */
export const NOT_STORED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
  'age',
  'x-cache',
  'content-length',
]);

/** Header names a Connection header lists (RFC 9110 §7.6.1): per-connection, so never stored (RFC 9111 §3.1). */
export function listedInConnection(value: string | number | readonly string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : String(value ?? '');
  return new Set(
    text
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
  );
}

/** True when a conditional request is satisfied by a 2xx response with these validators. */
export function isNotModified(
  requestHeaders: IncomingHttpHeaders,
  status: number,
  etag: string | undefined,
  lastModified: string | undefined,
): boolean {
  if (status < 200 || status >= 300) return false;
  return fresh(requestHeaders, { etag, 'last-modified': lastModified });
}

/**
 * Turns a response into a 304: no body, and none of the representation's content headers
 * (`Content-*` except `Content-Location`, and `Transfer-Encoding`). Everything else stays — RFC 9110
 * §15.4.5 requires the Cache-Control, Content-Location, Date, ETag, Expires and Vary a 200 would have
 * had and allows the rest; a Set-Cookie the application wanted sent, CORS headers and the like are
 * kept, as plain Express keeps them.
 */
export function toNotModified(res: Response): void {
  res.statusCode = 304;
  for (const name of res.getHeaderNames()) {
    if ((name.startsWith('content-') && name !== 'content-location') || name === 'transfer-encoding') {
      res.removeHeader(name);
    }
  }
}

/**
 * The Cache-Control clients get when the handler set none: `no-cache` (they revalidate, and get a 304
 * from the cache while the entry is fresh), or with `clientMaxAge` a `max-age` of at most what the
 * entry has left. Per-user entries are `private` too.
 */
export function cacheControlFor(remainingMs: number, perUser: boolean, clientMaxAgeMs: number | undefined): string {
  const prefix = perUser ? 'private, ' : '';
  if (clientMaxAgeMs === undefined) return `${prefix}no-cache`;
  const seconds = Math.max(0, Math.floor(Math.min(clientMaxAgeMs, remainingMs) / 1000));
  return `${prefix}max-age=${seconds}`;
}

/** How a route tells clients about a cached response it serves. */
export interface Downstream {
  perUser: boolean;
  clientMaxAgeMs: number | undefined;
}

/** The downstream rule for a request of a route: per-user when the route is and the request has a user. */
export function downstreamOf(config: ResponseCacheConfig, user: string | undefined): Downstream {
  return { perUser: config.user !== undefined && user !== undefined, clientMaxAgeMs: config.clientMaxAgeMs };
}

/**
 * Serves a cached entry: stored status, headers (Date, Expires and the handler's Cache-Control as
 * stored) and body, with Age (stored age plus resident time, RFC 9111 §4.2.3), X-Cache and ETag.
 */
export function sendCached(
  req: Request,
  res: Response,
  entry: CachedResponse,
  state: 'HIT' | 'STALE' | 'REVALIDATED',
  downstream: Downstream,
  now = Date.now(),
): void {
  const ageMs = currentAgeMs(entry, now);
  for (const [name, value] of entry.headers) res.setHeader(name, value);
  res.setHeader('ETag', entry.etag);
  res.setHeader('Age', String(Math.floor(ageMs / 1000)));
  res.setHeader('X-Cache', state);
  if (!entry.ownCacheControl) {
    res.setHeader(
      'Cache-Control',
      cacheControlFor(entry.freshMs - ageMs, downstream.perUser, downstream.clientMaxAgeMs),
    );
  }
  const lastModified = res.getHeader('last-modified');
  if (
    isNotModified(req.headers, entry.status, entry.etag, typeof lastModified === 'string' ? lastModified : undefined)
  ) {
    toNotModified(res);
    res.end();
    return;
  }
  res.statusCode = entry.status;
  if (entry.status === 204 || entry.status === 304) {
    res.end();
    return;
  }
  res.setHeader('Content-Length', String(entry.body.length));
  if (req.method === 'HEAD') res.end();
  else res.end(entry.body);
}
