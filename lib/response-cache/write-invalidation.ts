// RFC 9111 §4.4: a successful unsafe request invalidates its path (and Location / Content-Location) before its response goes out.
import type { Request, Response } from 'express';
import { messageOf } from '../common/errors';
import { debugFor } from '../common/log';
import { holdResponse } from './hold';
import type { CacheHub } from './hub';
import { invalidationPathOf, pathnameOf } from './key';
import { within } from './lookup';

const debug = debugFor('response-cache');

/** The safe methods (RFC 9110 §9.2.1). Every other method, standard or of unknown safety (M-SEARCH), invalidates. */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * When the handler of an unsafe request writes a 2xx or 3xx head, invalidates its paths on every
 * instance and holds the response (head and body) until Redis completed it and every instance was
 * told, at most `redisTimeout`. The targets are pending in this process from the start (see pending.ts):
 * it never serves the old entry afterwards, also when Redis is slow or fails (then the outbox retries).
 */
export function watchUnsafeRequest(req: Request, res: Response, hub: CacheHub): void {
  if (SAFE_METHODS.has(req.method)) return;
  hub.ensureSubscribed();
  holdResponse(res, () => {
    if (res.statusCode < 200 || res.statusCode >= 400) return undefined;
    const paths = new Set([invalidationPathOf(pathnameOf(req))]);
    for (const header of ['location', 'content-location']) {
      const path = sameOriginPath(req, res.getHeader(header));
      if (path !== undefined) paths.add(invalidationPathOf(path));
    }
    const invalidation = hub.invalidate({ paths: [...paths] }).catch((error: unknown) => {
      debug('invalidation after %s %s failed: %s', req.method, req.originalUrl, messageOf(error));
      return null;
    });
    return within(invalidation, hub.backend.timeoutMs);
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
