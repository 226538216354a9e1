// RFC 9111 §4.4: a successful unsafe request invalidates the cached responses of its path (and Location / Content-Location).
import type { Request, Response } from 'express';
import { messageOf } from '../common/errors';
import { debugFor } from '../common/log';
import type { CacheHub } from './hub';
import { invalidationPathOf, pathnameOf } from './key';

const debug = debugFor('response-cache');

/** Methods whose success invalidates (RFC 9110 §9.2.1: not safe). */
export const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Once the response is sent with a 2xx or 3xx status, invalidates its path on every instance. */
export function watchUnsafeRequest(req: Request, res: Response, hub: CacheHub): void {
  if (!UNSAFE_METHODS.has(req.method)) return;
  hub.ensureSubscribed();
  res.once('finish', () => {
    if (res.statusCode < 200 || res.statusCode >= 400) return;
    const paths = new Set([invalidationPathOf(pathnameOf(req))]);
    for (const header of ['location', 'content-location']) {
      const path = sameOriginPath(req, res.getHeader(header));
      if (path !== undefined) paths.add(invalidationPathOf(path));
    }
    hub.invalidate({ paths: [...paths] }).catch((error: unknown) => {
      debug('invalidation after %s %s failed: %s', req.method, req.originalUrl, messageOf(error));
    });
  });
}

/** The path of a Location-like header when it points at this origin (another origin is never ours to drop). */
function sameOriginPath(req: Request, value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    const origin = `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    const url = new URL(value, origin + pathnameOf(req));
    return url.origin === new URL(origin).origin ? url.pathname : undefined;
  } catch {
    return undefined;
  }
}
