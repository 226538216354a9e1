// Writes a cached response (HIT or STALE), and answers conditional requests with 304 (RFC 9110 §13.1.2, §15.4.5).
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import fresh from 'fresh';
import type { CachedResponse } from './entry';

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
  'date',
  'age',
  'x-cache',
  'content-length',
]);

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

/** The Cache-Control a cached response is served with when the route set none. */
export function cacheControlFor(remainingMs: number, perUser: boolean): string {
  const seconds = Math.max(0, Math.floor(remainingMs / 1000));
  return perUser ? `private, max-age=${seconds}` : `max-age=${seconds}`;
}

/** Serves a cached entry: stored status, headers and body, with Age, X-Cache, ETag and Cache-Control. */
export function sendCached(
  req: Request,
  res: Response,
  entry: CachedResponse,
  state: 'HIT' | 'STALE',
  perUser: boolean,
  now = Date.now(),
): void {
  const ageMs = Math.max(0, now - entry.storedAt);
  for (const [name, value] of entry.headers) res.setHeader(name, value);
  res.setHeader('ETag', entry.etag);
  res.setHeader('Age', String(Math.floor(ageMs / 1000)));
  res.setHeader('X-Cache', state);
  if (!entry.ownCacheControl) res.setHeader('Cache-Control', cacheControlFor(entry.freshMs - ageMs, perUser));
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
