// The endpoint of a routed request: the full route pattern (mount patterns + route path), resolved once per route.
import type { Request } from 'express';
import { warn } from '../common/log';
import { routePatternOf } from '../common/route-pattern';

/** The endpoint when the middleware runs before routing (mounted with `app.use`) and has no `name`. */
export const DEFAULT_ENDPOINT = 'all';

/** Marks an endpoint whose mount pattern could not be proven: `~` + the route's own path. */
export const UNRESOLVED_PREFIX = '~';

/** Routes already warned about (one line per route). */
const warned = new WeakSet<object>();

function warnUnresolved(route: object, fallback: string, reason: string): void {
  if (warned.has(route)) return;
  warned.add(route);
  warn(
    'W_RATE_LIMIT_ENDPOINT',
    `rateLimit: cannot tell the route pattern in front of route '${fallback.slice(UNRESOLVED_PREFIX.length)}': ${reason}; its requests are counted under '${fallback}', shared by every mount of that route path. Pass the name option to count it under a name of your own.`,
  );
}

/**
 * The endpoint of a request that reached a route (`req.route` set): its full route pattern (see
 * {@link routePatternOf}); when that cannot be proven, `~` + the route's own path, with one warning per
 * route. Never the raw URL, so the number of endpoints stays bounded by the app's routes.
 */
export function routeEndpoint(req: Request, route: Record<string, unknown>): string {
  const resolved = routePatternOf(req, route);
  if ('pattern' in resolved) return resolved.pattern;
  const fallback = UNRESOLVED_PREFIX + String(route.path);
  warnUnresolved(route, fallback, resolved.unproven);
  return fallback;
}
