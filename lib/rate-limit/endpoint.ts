// The endpoint of a routed request: the full route pattern (mount patterns + route path), resolved once per route.
import type { Request } from 'express';
import { warn } from '../common/log';

/** The endpoint when the middleware runs before routing (mounted with `app.use`) and has no `name`. */
export const DEFAULT_ENDPOINT = 'all';

/** Marks an endpoint whose mount pattern could not be proven: `~` + the route's own path. */
export const UNRESOLVED_PREFIX = '~';

/** Characters that make a path-to-regexp 8 pattern match more than one literal path. */
const DYNAMIC = /[:*{}()[\]?+!\\]/;
/** Deepest router nesting followed when looking for a route. */
const MAX_DEPTH = 32;

interface Resolution {
  /** The app whose router was searched (a request through another app cannot use this resolution). */
  app: unknown;
  /** The pattern (`/users/:uid/items`), or the fallback (`~/items`) when it could not be proven. */
  endpoint: string;
  /** The pattern was proven. */
  proven: boolean;
  /** When every mount is static: the `req.baseUrl` it must produce (checked per request), and in lower case. */
  base: string | undefined;
  baseLower: string | undefined;
  /** The fallback, for a request whose `req.baseUrl` disagrees with a static mount. */
  fallback: string;
  /** Why the pattern could not be proven (for the warning). */
  reason: string;
}

/** Resolutions by route object (`req.route`): computed on a route's first request, then a map lookup. */
const resolutions = new WeakMap<object, Resolution>();
/** Routes already warned about (one line per route). */
const warned = new WeakSet<object>();

interface LayerLike {
  route?: unknown;
  handle?: unknown;
  rawPath?: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/** The route's own path as a string (`/items/:id`; a list or RegExp path as its text). */
function routePath(route: Record<string, unknown>): string {
  return String(route.path);
}

/** A mount path without its trailing slashes (`/api/` → `/api`, `/` → ``), as Express builds `req.baseUrl`. */
function trimMount(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  return path.slice(0, end);
}

/** Every chain of mount paths under which `route` is reachable in `stack` (nested routers followed). */
function findChains(stack: unknown, route: object, prefix: unknown[], seen: Set<unknown>, chains: unknown[][]): void {
  if (!Array.isArray(stack) || prefix.length > MAX_DEPTH) return;
  for (const item of stack as LayerLike[]) {
    if (!isObject(item)) continue;
    if (item.route === route) {
      chains.push(prefix);
      continue;
    }
    const handle = item.handle;
    if (item.route === undefined && isObject(handle) && Array.isArray(handle.stack) && !seen.has(handle)) {
      seen.add(handle);
      findChains(handle.stack, route, [...prefix, item.rawPath], seen, chains);
      seen.delete(handle);
    }
  }
}

/** Walks the request's app once to find the mount patterns in front of `route`. */
function resolve(app: unknown, route: Record<string, unknown>): Resolution {
  const own = routePath(route);
  const fallback = UNRESOLVED_PREFIX + own;
  const unproven = (reason: string): Resolution => ({
    app,
    endpoint: fallback,
    proven: false,
    base: undefined,
    baseLower: undefined,
    fallback,
    reason,
  });
  if (!isObject(app) || !isObject(app.router)) return unproven('the request has no Express app');
  // A mounted sub-app: its mount paths (app.mountpath, then its parents'), outermost first.
  const mounts: unknown[] = [];
  for (let a: Record<string, unknown> = app; isObject(a.parent); a = a.parent) mounts.unshift(a.mountpath);
  const chains: unknown[][] = [];
  findChains(app.router.stack, route, [], new Set([app.router]), chains);
  if (chains.length === 0) return unproven("the route is not reachable through the app's routers (called by hand?)");
  if (chains.length > 1) return unproven('its router is mounted at several paths');
  const parts = [...mounts, ...(chains[0] as unknown[])];
  if (parts.some((part) => part === undefined)) {
    return unproven('this version of the router package does not keep mount paths (router 2.3 does)');
  }
  if (parts.some((part) => typeof part !== 'string')) return unproven('a mount path is a RegExp or a list of paths');
  const mount = (parts as string[]).map(trimMount).join('');
  const isStatic = !DYNAMIC.test(mount);
  return {
    app,
    endpoint: mount + own,
    proven: true,
    base: isStatic ? mount : undefined,
    baseLower: isStatic ? mount.toLowerCase() : undefined,
    fallback,
    reason: `req.baseUrl does not match its mount path '${mount}' (a sub-app mounted twice?)`,
  };
}

function warnUnresolved(route: object, resolution: Resolution): void {
  if (warned.has(route)) return;
  warned.add(route);
  warn(
    'RATE_LIMIT_ENDPOINT',
    `rateLimit: cannot tell the route pattern in front of route '${resolution.fallback.slice(UNRESOLVED_PREFIX.length)}': ${resolution.reason}; its requests are counted under '${resolution.fallback}', shared by every mount of that route path. Pass the name option to count it under a name of your own.`,
  );
}

/**
 * The endpoint of a request that reached a route (`req.route` set):
 *
 * - nothing mounted in front (`req.baseUrl` empty): the route's path (`/recipes/:id`);
 * - else the mount patterns joined with the route's path (`/users/:uid/items`), found by walking the app's
 *   router layers on the route's first request and cached per route object. A static mount must equal
 *   `req.baseUrl` (case-insensitively) on every request, a cheap string check;
 * - when the pattern cannot be proven (RegExp or list mount, a router mounted at several paths, a router
 *   called by hand, a static mount that disagrees with `req.baseUrl`): `~` + the route's path, with one
 *   warning per route. Never the raw URL.
 */
export function routeEndpoint(req: Request, route: Record<string, unknown>): string {
  const base = req.baseUrl;
  if (base === '' || base === undefined) return routePath(route);
  let resolution = resolutions.get(route);
  if (resolution === undefined) {
    resolution = resolve(req.app, route);
    resolutions.set(route, resolution);
  }
  if (
    resolution.proven &&
    resolution.app === req.app &&
    (resolution.base === undefined || base === resolution.base || base.toLowerCase() === resolution.baseLower)
  ) {
    return resolution.endpoint;
  }
  warnUnresolved(
    route,
    resolution.app === req.app ? resolution : { ...resolution, reason: 'it is served by two apps' },
  );
  return resolution.fallback;
}
