// The full route pattern of a routed request (`/users/:uid/items`): mount patterns + route path, resolved once per route.
import type { Request } from 'express';
import { fromList, type MountLayer, type MountPaths, mountPathsOf } from './mount-path';

/** Why a route's pattern could not be proven, or the pattern. */
export type RoutePattern = { pattern: string } | { unproven: string };

/** Characters that make a path-to-regexp 8 pattern match more than one literal path. */
const DYNAMIC = /[:*{}()[\]?+!\\]/;
/** Deepest router nesting followed when looking for a route. */
const MAX_DEPTH = 32;

interface Resolution {
  /** The app whose router was searched (a request through another app cannot use this resolution). */
  app: unknown;
  /** Mount prefixes under which the route is reachable (one per mount chain and listed path), or why none could be read. */
  mounts: string[] | string;
}

/** Resolutions by route object (`req.route`): computed on a route's first request, then a map lookup. */
const resolutions = new WeakMap<object, Resolution>();

interface LayerLike extends MountLayer {
  route?: unknown;
  handle?: unknown;
}

/** One mount chain: per level, the paths that level was mounted with, or why they cannot be told. */
type Chain = MountPaths[];

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/** A mount path without its trailing slashes (`/api/` → `/api`, `/` → ``), as Express builds `req.baseUrl`. */
function trimMount(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  return path.slice(0, end);
}

/** Every chain of mount paths under which `route` is reachable in `stack` (nested routers followed). */
function findChains(stack: unknown, route: object, prefix: Chain, seen: Set<unknown>, chains: Chain[]): void {
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
      findChains(handle.stack, route, [...prefix, mountPathsOf(item)], seen, chains);
      seen.delete(handle);
    }
  }
}

/**
 * The app's own router: `app._router` on Express 4 (where reading `app.router` throws), `app.router` on
 * Express 5 (where `_router` does not exist).
 */
function routerOf(app: Record<string, unknown>): unknown {
  if (isObject(app._router)) return app._router;
  try {
    return app.router;
  } catch {
    return undefined;
  }
}

/** Every concatenation of one path per level (`[['/a', '/b'], ['/x']]` → `/a/x`, `/b/x`). */
function expand(levels: string[][]): string[] {
  return levels.reduce<string[]>(
    (prefixes, paths) => prefixes.flatMap((prefix) => paths.map((path) => prefix + trimMount(path))),
    [''],
  );
}

/** Walks the request's app once to find the mount patterns in front of `route`. */
function resolve(app: unknown, route: object): Resolution {
  const unproven = (reason: string): Resolution => ({ app, mounts: reason });
  const router = isObject(app) ? routerOf(app) : undefined;
  if (!isObject(app) || !isObject(router)) return unproven('the request has no Express app');
  // A mounted sub-app: its mount paths (app.mountpath, then its parents'), outermost first.
  const appMounts: Chain = [];
  for (let a: Record<string, unknown> = app; isObject(a.parent); a = a.parent) appMounts.unshift(fromList(a.mountpath));
  const chains: Chain[] = [];
  findChains(router.stack, route, [], new Set([router]), chains);
  if (chains.length === 0) return unproven("the route is not reachable through the app's routers (called by hand?)");
  const mounts: string[] = [];
  for (const chain of chains) {
    const levels = [...appMounts, ...chain];
    const failed = levels.find((level) => !Array.isArray(level));
    if (failed !== undefined) return unproven((failed as { unproven: string }).unproven);
    mounts.push(...expand(levels as string[][]));
  }
  return { app, mounts: [...new Set(mounts)] };
}

/** Whether a mount pattern could have produced the concrete `req.baseUrl` (same segments; parameters match any). */
function couldProduce(mount: string, base: string): boolean {
  if (!DYNAMIC.test(mount)) return mount === base || mount.toLowerCase() === base.toLowerCase();
  if (/[*{}()?+]/.test(mount)) return true; // wildcards and optional groups: segment counts may differ
  const a = mount.split('/');
  const b = base.split('/');
  return (
    a.length === b.length && a.every((part, i) => part.startsWith(':') || part.toLowerCase() === b[i]?.toLowerCase())
  );
}

/**
 * The route pattern of a request that reached a route (`req.route` set):
 *
 * - nothing mounted in front (`req.baseUrl` empty): the route's path (`/recipes/:id`);
 * - else the mount patterns joined with the route's path (`/users/:uid/items`). Express exposes only the
 *   concrete `req.baseUrl` (`/users/42`), so the app's router layers are walked on the route's first
 *   request and the result is cached per route object; each request then checks that the mount could
 *   have produced its `req.baseUrl` (a string comparison for static mounts) and picks the one that did
 *   when a router is mounted at several paths;
 * - `{ unproven: reason }` when that cannot be proven (RegExp or list mounts, a router called by hand,
 *   two candidate mounts that both match, a request through another app). Callers choose the fallback.
 */
export function routePatternOf(req: Request, route: { path?: unknown }): RoutePattern {
  const own = String(route.path);
  const base = req.baseUrl;
  if (base === '' || base === undefined) return { pattern: own };
  let resolution = resolutions.get(route);
  if (resolution === undefined) {
    try {
      resolution = resolve(req.app, route);
    } catch (error) {
      // Router internals are not public API: a shape this walk does not expect must never fail a request.
      resolution = { app: req.app, mounts: `the app's routers could not be read (${String(error)})` };
    }
    resolutions.set(route, resolution);
  }
  if (resolution.app !== req.app) return { unproven: 'it is served by two apps' };
  if (typeof resolution.mounts === 'string') return { unproven: resolution.mounts };
  const matching = resolution.mounts.filter((mount) => couldProduce(mount, base));
  if (matching.length === 1) return { pattern: (matching[0] as string) + own };
  return {
    unproven:
      matching.length === 0
        ? `req.baseUrl does not match its mount path${resolution.mounts.length > 1 ? 's' : ''} '${resolution.mounts.join("', '")}'`
        : 'its router is mounted at several paths that all match this request',
  };
}
