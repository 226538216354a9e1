// Builds `api:{endpoint}:<params_hash>` from the route, the normalised path and query, the Vary headers and the user.
import type { Request } from 'express';
import { warnOnce } from '../common/log';
import { Memo } from '../common/memo';
import { routePatternOf } from '../common/route-pattern';
import { apiKey, hashCanonical } from '../redis';

/** What a request contributes to its key, apart from the Vary headers. */
export interface KeyBase {
  endpoint: string;
  /** The request path as requested (percent-decoded), part of the hash. */
  path: string;
  /** Normalised path used for invalidation on unsafe requests (lower case, no trailing slash). */
  invalidationPath: string;
  query: Array<[string, string]>;
  user: string | undefined;
  /** True when the request carries Authorization (kept apart from anonymous entries). */
  authorized: boolean;
  /** Host and scheme as Express sees them (honouring `trust proxy`): never shared across hosts. */
  origin: string;
}

/** The `name` option, or the route pattern with its mount patterns, or (mounted with `app.use`) the concrete path. */
export function endpointOf(req: Request, name: string | undefined): string {
  if (name !== undefined) return name;
  const route = req.route as { path?: unknown } | undefined;
  if (!route || typeof route.path !== 'string') return pathnameOf(req);
  const resolved = routePatternOf(req, route);
  if ('pattern' in resolved) return resolved.pattern;
  warnOnce(
    'W_RESPONSE_CACHE_MOUNT_PATTERN',
    `responseCache: cannot tell the route pattern of ${req.baseUrl}${route.path} (${resolved.unproven}); keying it by its concrete path. ` +
      "Give the route a name option (e.g. name: '/users/:uid/items') so every user shares one endpoint.",
  );
  return req.baseUrl + route.path;
}

/** The path of the original URL, without the query. */
export function pathnameOf(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Percent-decoded path (malformed escapes kept as they are). */
export function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * The form of a path that invalidation matches on: decoded, lower-cased, without a trailing slash.
 * Coarser than the key on purpose: two spellings of one resource are both invalidated.
 */
export function invalidationPathOf(path: string): string {
  const decoded = decodePath(path).toLowerCase();
  return decoded.length > 1 && decoded.endsWith('/') ? decoded.replace(/\/+$/, '') || '/' : decoded;
}

/**
 * The query, decoded and sorted by name (values of one name keep their order, which can matter to
 * the handler): `?b=2&a=1`, `?a=1&b=2` and `?a=%31&b=2` give the same key.
 */
export function normalisedQuery(req: Request): Array<[string, string]> {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  if (q === -1 || q === url.length - 1) return [];
  const pairs = [...new URLSearchParams(url.slice(q + 1))];
  return pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The key base of a request. */
export function keyBaseOf(req: Request, endpoint: string, user: string | undefined): KeyBase {
  const path = pathnameOf(req);
  return {
    endpoint,
    path: decodePath(path),
    invalidationPath: invalidationPathOf(path),
    query: normalisedQuery(req),
    user,
    authorized: req.headers.authorization !== undefined,
    origin: `${req.protocol}://${req.hostname ?? ''}`,
  };
}

/** A request header's value as it enters the key: trimmed, lower-cased, list spacing removed. */
export function normaliseHeaderValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  return text
    .trim()
    .toLowerCase()
    .replace(/\s*,\s*/g, ',')
    .replace(/\s+/g, ' ');
}

/** Keys of recent requests by their parts (see {@link entryKey}). */
const recentKeys = new Memo<string, string>(2000);
/** Parts longer than this (long query strings) are not remembered: the memo stays within a few MB. */
const MEMO_MAX_CHARS = 512;

/** `api:{endpoint}:<hash>` for a request and the header names the response varies on. */
export function entryKey(base: KeyBase, req: Request, vary: readonly string[]): string {
  const headers: Record<string, string | null> = {};
  for (const name of vary) headers[name] = normaliseHeaderValue(req.headers[name]);
  // JSON of the parts is exact (strings, booleans, null, arrays, a record): equal text means an equal key, so
  // the canonical form and its SHA-256 are computed once per distinct request, not on every hit.
  const parts = JSON.stringify([
    base.endpoint,
    base.origin,
    base.path,
    base.query,
    base.user ?? null,
    base.authorized,
    headers,
  ]);
  const known = recentKeys.get(parts);
  if (known !== undefined) return known;
  const hash = hashCanonical({
    o: base.origin,
    p: base.path,
    q: base.query,
    u: base.user ?? null,
    a: base.authorized,
    v: headers,
  });
  const key = apiKey(base.endpoint, hash);
  if (parts.length <= MEMO_MAX_CHARS) recentKeys.set(parts, key);
  return key;
}

/** Where the vary spec of an endpoint lives (the header names its responses last varied on). */
export function varySpecKey(endpoint: string): string {
  return apiKey(endpoint, 'vary');
}

/** The fill lock of one entry key (same hash tag as the entry). */
export function lockKeyOf(key: string): string {
  return `${key}.lock`;
}

/** Lower-case header names of a Vary value, sorted and deduplicated; `['*']` for `Vary: *`. */
export function parseVary(value: string | number | string[] | undefined): string[] {
  if (value === undefined) return [];
  const names = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : String(value)).split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '*') return ['*'];
    if (name !== '') names.add(name);
  }
  return [...names].sort();
}
