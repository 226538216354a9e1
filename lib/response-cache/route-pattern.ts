// The route pattern of a request (`/users/:uid/items`): the mount patterns of the routers and apps it passed through, plus `req.route.path`.
import type { Request } from 'express';
import { warnOnce } from '../common/log';

interface LayerLike {
  route?: unknown;
  handle?: unknown;
  /** The path the layer was mounted with (router ≥ 2.3, Express 5). */
  rawPath?: unknown;
}
interface AppLike {
  mountpath?: unknown;
  parent?: AppLike;
  router?: unknown;
  _router?: unknown;
}

/** Deepest router nesting followed. */
const MAX_DEPTH = 16;

/** Candidate mount patterns per Route object (a router can be mounted at several places). */
const candidatesByRoute = new WeakMap<object, string[]>();

/**
 * The route pattern of the request, with the patterns its routers were mounted at (Express exposes
 * only the concrete `req.baseUrl`, `/users/42`; the patterns are found once per route by walking the
 * app's router stack). Falls back to `req.baseUrl + req.route.path` (with one warning) when the
 * mount pattern cannot be told; undefined outside a route (`app.use`).
 */
export function routePatternOf(req: Request): string | undefined {
  const route = req.route as { path?: unknown } | undefined;
  if (!route || typeof route.path !== 'string') return undefined;
  const concrete = req.baseUrl ?? '';
  if (concrete === '') return route.path;
  let candidates = candidatesByRoute.get(route);
  if (candidates === undefined) {
    candidates = mountPatterns(req.app as unknown as AppLike, route);
    candidatesByRoute.set(route, candidates);
  }
  const matching = candidates.filter((pattern) => couldMatch(pattern, concrete));
  if (matching.length === 1) return (matching[0] as string) + route.path;
  warnOnce(
    'E_RESPONSE_CACHE_MOUNT_PATTERN',
    `responseCache: cannot tell the mount pattern of ${concrete}${route.path}; keying it by its concrete path. ` +
      "Give the route a name option (e.g. name: '/users/:uid/items') so every user shares one endpoint.",
  );
  return concrete + route.path;
}

/** The mount prefixes under which `route` is reachable in the request's app (including the app's own mountpath). */
function mountPatterns(app: AppLike, route: object): string[] {
  let appPrefix = '';
  for (let current: AppLike | undefined = app; current?.parent; current = current.parent) {
    if (typeof current.mountpath !== 'string') return [];
    appPrefix = trimRoot(current.mountpath) + appPrefix;
  }
  const found = new Set<string>();
  walk(app.router ?? app._router, appPrefix, route, found, 0);
  return [...found];
}

function walk(router: unknown, prefix: string, route: object, found: Set<string>, depth: number): void {
  const stack = (router as { stack?: unknown } | undefined)?.stack;
  if (!Array.isArray(stack) || depth > MAX_DEPTH) return;
  for (const layer of stack as LayerLike[]) {
    if (layer.route === route) found.add(prefix);
    else if (!layer.route && typeof layer.rawPath === 'string') {
      walk(layer.handle, prefix + trimRoot(layer.rawPath), route, found, depth + 1);
    }
  }
}

function trimRoot(path: string): string {
  return path === '/' ? '' : path.replace(/\/+$/, '');
}

/** Whether a mount pattern could have produced the concrete base URL (same segments; params match anything). */
function couldMatch(pattern: string, concrete: string): boolean {
  if (/[*{}()?+]/.test(pattern)) return true; // wildcards and optional groups: segment counts may differ
  const a = pattern.split('/');
  const b = concrete.split('/');
  if (a.length !== b.length) return false;
  return a.every((part, i) => part.startsWith(':') || part.toLowerCase() === (b[i] as string).toLowerCase());
}
