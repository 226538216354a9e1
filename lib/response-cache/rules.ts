// The caching rules: which requests may be served or stored, and which responses are never stored (with the reason).
import type { Request, Response } from 'express';
import type { BypassReason, Explained, SkipReason } from '../common/reasons';
import { parseCacheControl, secondsDirective } from './cache-control';
import type { ResponseCacheConfig } from './options';

/** What the cache may do for a GET/HEAD request. */
export type RequestPolicy =
  | { bypass: true; reason: BypassReason; detail: string }
  | {
      bypass: false;
      /** `Cache-Control: no-cache` or `max-age=0`: run the handler and store, but do not serve the entry. */
      refresh: boolean;
      /** A request `max-age`: entries older than this are not served. */
      maxAgeMs: number | undefined;
    };

/** Decides from the request alone (RFC 9111 §5.2.1, §3.5) whether the cache is used at all. */
export function requestPolicy(req: Request, config: ResponseCacheConfig, user: string | undefined): RequestPolicy {
  const directives = parseCacheControl(req.headers['cache-control']);
  if (directives.has('no-store'))
    return { bypass: true, reason: 'no-store', detail: 'request Cache-Control: no-store' };
  if (req.headers.authorization !== undefined && user === undefined && !config.shareAuthorized) {
    return {
      bypass: true,
      reason: 'authorization',
      detail: 'request carries Authorization (route is neither per-user nor shareAuthorized)',
    };
  }
  if (req.headers.cookie !== undefined && user === undefined && !config.ignoreCookies) {
    return {
      bypass: true,
      reason: 'cookie',
      detail: 'request carries a Cookie (route is neither per-user nor ignoreCookies)',
    };
  }
  const maxAgeMs = secondsDirective(directives, 'max-age');
  return { bypass: false, refresh: directives.has('no-cache') || maxAgeMs === 0, maxAgeMs };
}

/**
 * Request headers whose values are routinely echoed by content negotiation or say nothing about the
 * caller; every other request header that is not part of the key is checked for reflection.
 */
const NOT_CHECKED_FOR_REFLECTION = new Set([
  'host',
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-charset',
  'cache-control',
  'pragma',
  'connection',
  'keep-alive',
  'content-length',
  'content-type',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
  'te',
  'upgrade-insecure-requests',
  'priority',
  'dnt',
]);
/** Shorter values would match by accident. */
const MIN_REFLECTED_LENGTH = 8;

/** Why a finished response must not be stored, or undefined when it may be. */
export function responseSkipReason(
  req: Request,
  res: Response,
  body: Buffer,
  vary: readonly string[],
  config: ResponseCacheConfig,
  user: string | undefined,
): Explained<SkipReason> | undefined {
  if (req.method !== 'GET') {
    return skip('method', `${req.method} responses are not stored (HEAD is served from GET entries)`);
  }
  if (!config.statuses.has(res.statusCode)) return skip('status', `status ${res.statusCode} is not in statuses`);
  if (res.getHeader('set-cookie') !== undefined) return skip('set-cookie', 'response sets a cookie');
  const directives = parseCacheControl(res.getHeader('cache-control') as string | undefined);
  const refused = refusingDirective(directives);
  if (refused !== undefined) return skip(refused.reason, `response Cache-Control: ${refused.directive}`);
  if ((secondsDirective(directives, 's-maxage') ?? secondsDirective(directives, 'max-age')) === 0) {
    return skip('not-fresh', 'response Cache-Control max-age is 0');
  }
  if (vary.includes('*')) return skip('vary', 'response Vary: *');
  if (req.headers.authorization !== undefined && user === undefined) {
    // RFC 9111 §3.5: a shared cache stores such a response only when it explicitly allows it.
    if (!directives.has('public') && !directives.has('s-maxage') && !directives.has('must-revalidate')) {
      return skip('authorization', 'response to an Authorization request without public, s-maxage or must-revalidate');
    }
  }
  if (body.length > config.maxBodySize) {
    return skip('too-large', `body of ${body.length} bytes is above maxBodySize`);
  }
  return reflectedHeader(req, res, body, vary);
}

function skip(reason: SkipReason, detail: string): Explained<SkipReason> {
  return { reason, detail };
}

/** The response directive that forbids storing, with its reason word. */
function refusingDirective(
  directives: ReturnType<typeof parseCacheControl>,
): { directive: string; reason: SkipReason } | undefined {
  if (directives.has('private')) return { directive: 'private', reason: 'private' };
  if (directives.has('no-store')) return { directive: 'no-store', reason: 'no-store' };
  if (directives.has('no-cache')) return { directive: 'no-cache', reason: 'no-cache' };
  return undefined;
}

/**
 * Why a response must not be stored, judged on its final head: header-time hooks of outer middleware
 * (express-session's Set-Cookie, a late Cache-Control) run only when the head is written.
 * `ownCacheControl` is the Cache-Control the cache set itself (not held against the response).
 */
export function finalHeadSkipReason(
  res: Response,
  ownCacheControl: string | undefined,
): Explained<SkipReason> | undefined {
  if (res.getHeader('set-cookie') !== undefined) {
    return skip('set-cookie', 'response sets a cookie (added when its head was written)');
  }
  const cacheControl = res.getHeader('cache-control');
  if (cacheControl === ownCacheControl) return undefined; // the cache's own (private for per-user routes)
  const refused = refusingDirective(parseCacheControl(cacheControl as string | undefined));
  if (refused === undefined) return undefined;
  return skip(refused.reason, `response Cache-Control: ${refused.directive} (set when its head was written)`);
}

/** Names an unkeyed request header whose value the response echoes (a cache poisoning attempt or a per-caller response). */
function reflectedHeader(
  req: Request,
  res: Response,
  body: Buffer,
  vary: readonly string[],
): Explained<SkipReason> | undefined {
  const responseHeaders = Object.values(res.getHeaders())
    .flatMap((value) => (Array.isArray(value) ? value : [String(value)]))
    .join('\n');
  for (const [name, value] of Object.entries(req.headers)) {
    if (NOT_CHECKED_FOR_REFLECTION.has(name) || vary.includes(name) || name.startsWith('sec-')) continue;
    for (const text of Array.isArray(value) ? value : [value ?? '']) {
      const trimmed = text.trim();
      if (trimmed.length < MIN_REFLECTED_LENGTH) continue;
      if (responseHeaders.includes(trimmed) || body.includes(trimmed)) {
        return skip('unkeyed-header', `response reflects the unkeyed request header ${name}`);
      }
    }
  }
  return undefined;
}

/** The fresh lifetime of a response: the route's ttl, shortened by the handler's s-maxage or max-age. */
export function freshLifetimeMs(res: Response, ttlMs: number): number {
  const directives = parseCacheControl(res.getHeader('cache-control') as string | undefined);
  const own = secondsDirective(directives, 's-maxage') ?? secondsDirective(directives, 'max-age');
  return own === undefined ? ttlMs : Math.min(ttlMs, own);
}
