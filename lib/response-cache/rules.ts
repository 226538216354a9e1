// The caching rules: which requests may be served or stored, and which responses are never stored (with the reason).
import type { Request, Response } from 'express';
import type { BypassReason, Explained, SkipReason } from '../common/reasons';
import { type Directives, parseCacheControl, secondsDirective } from './cache-control';
import { freshnessOf, storedLifetimeMs } from './freshness';
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
  // An invalid request max-age asks for nothing older than 0 s: a refresh.
  return {
    bypass: false,
    refresh: directives.has('no-cache') || maxAgeMs === 0 || maxAgeMs === null,
    maxAgeMs: maxAgeMs ?? undefined,
  };
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

/** Statuses never stored whatever the headers say: interim, partial content (no Range support), 304. */
function neverStored(status: number): boolean {
  return status < 200 || status === 206 || status === 304;
}

/** How a storable response is stored: its lifetime and initial age (RFC 9111 §4.2), and whether it may be served stale. */
export interface Storable {
  lifetimeMs: number;
  ageMs: number;
  /** How long it may be served stale, from the response's own directives (RFC 5861), or undefined. */
  staleWhileRevalidateMs: number | undefined;
  staleIfErrorMs: number | undefined;
  /** `must-revalidate`, `proxy-revalidate` or `s-maxage`: never served stale (RFC 9111 §4.2.4, §5.2.2). */
  mustRevalidate: boolean;
}

/**
 * Whether a finished GET response may be stored (RFC 9111 §3) and for how long, or the reason it may not.
 * `requestedAt` is when the handler started, for the age calculation.
 */
export function storability(
  req: Request,
  res: Response,
  body: Buffer,
  vary: readonly string[],
  config: ResponseCacheConfig,
  user: string | undefined,
  requestedAt: number,
): Storable | Explained<SkipReason> {
  const status = res.statusCode;
  if (neverStored(status)) return skip('status', `status ${status} is never stored`);
  if (res.getHeader('set-cookie') !== undefined) return skip('set-cookie', 'response sets a cookie');
  const directives = parseCacheControl(res.getHeader('cache-control') as string | undefined);
  const refused = refusingDirective(directives);
  if (refused !== undefined) return skip(refused.reason, `response Cache-Control: ${refused.directive}`);
  if (vary.includes('*')) return skip('vary', 'response Vary: *');
  if (req.headers.authorization !== undefined && user === undefined) {
    // RFC 9111 §3.5: a shared cache stores such a response only when it explicitly allows it.
    if (!directives.has('public') && !directives.has('s-maxage') && !directives.has('must-revalidate')) {
      return skip('authorization', 'response to an Authorization request without public, s-maxage or must-revalidate');
    }
  }
  const freshness = freshnessOf(res.getHeaders(), requestedAt, Date.now());
  // Any status the response's own headers make explicitly fresh is storable; the others only on the ttl, if listed.
  if (freshness.explicitMs === undefined && (config.ttl.kind === 'response' || !config.statuses.has(status))) {
    return config.ttl.kind === 'response'
      ? skip('not-fresh', "no explicit freshness (ttl: 'response')")
      : skip('status', `status ${status} without explicit freshness is not in statuses`);
  }
  const lifetimeMs = storedLifetimeMs(freshness, config.ttl);
  if (lifetimeMs === undefined) {
    return skip('not-fresh', `fresh for ${freshness.explicitMs ?? 'ttl'} ms at an age of ${freshness.ageMs} ms`);
  }
  if (body.length > config.maxBodySize) return skip('too-large', `body of ${body.length} bytes is above maxBodySize`);
  const reflected = reflectedHeader(req, res, body, vary);
  if (reflected !== undefined) {
    return skip('unkeyed-header', `response reflects the unkeyed request header ${reflected}`);
  }
  const mustRevalidate = ['must-revalidate', 'proxy-revalidate', 's-maxage'].some((name) => directives.has(name));
  return {
    lifetimeMs,
    ageMs: freshness.ageMs,
    staleWhileRevalidateMs: secondsDirective(directives, 'stale-while-revalidate') ?? undefined,
    staleIfErrorMs: secondsDirective(directives, 'stale-if-error') ?? undefined,
    mustRevalidate,
  };
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
  const directives = parseCacheControl(cacheControl as string | undefined);
  const refused = refusingDirective(directives);
  if (refused === undefined) return undefined;
  return skip(refused.reason, `response Cache-Control: ${refused.directive} (set when its head was written)`);
}

function skip(reason: SkipReason, detail: string): Explained<SkipReason> {
  return { reason, detail };
}

/** The response directive that forbids storing, with its reason word. */
function refusingDirective(directives: Directives): { directive: string; reason: SkipReason } | undefined {
  if (directives.has('private')) return { directive: 'private', reason: 'private' };
  if (directives.has('no-store')) return { directive: 'no-store', reason: 'no-store' };
  if (directives.has('no-cache')) return { directive: 'no-cache', reason: 'no-cache' };
  return undefined;
}

/** Names an unkeyed request header whose value the response echoes (a cache poisoning attempt or a per-caller response). */
function reflectedHeader(req: Request, res: Response, body: Buffer, vary: readonly string[]): string | undefined {
  const responseHeaders = Object.values(res.getHeaders())
    .flatMap((value) => (Array.isArray(value) ? value : [String(value)]))
    .join('\n');
  for (const [name, value] of Object.entries(req.headers)) {
    if (NOT_CHECKED_FOR_REFLECTION.has(name) || vary.includes(name) || name.startsWith('sec-')) continue;
    for (const text of Array.isArray(value) ? value : [value ?? '']) {
      const trimmed = text.trim();
      if (trimmed.length < MIN_REFLECTED_LENGTH) continue;
      if (responseHeaders.includes(trimmed) || body.includes(trimmed)) {
        return name;
      }
    }
  }
  return undefined;
}
