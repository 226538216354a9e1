// Promise-based helpers hanging off sessions(): login, logout, save, required() and errorHandler().
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Session, SessionData } from 'express-session';
import { type Duration, parseDuration } from '../common/duration';
import { messageOf } from '../common/errors';
import { assertKnownOptions, assertOptionsObject, type OptionDefaults } from '../common/validate';
import { bookkeepingOf } from './codec';
import { isSessionUnavailable, SessionUnavailableError } from './errors';
import { requestState } from './state';

type LiveSession = Session & Partial<SessionData>;

/** The error for a request that has no session because the store could not be reached. */
function unavailable(req: Request): SessionUnavailableError {
  const state = requestState(req);
  if (state === undefined) {
    return new SessionUnavailableError('no session: sessions() is not mounted before this route');
  }
  const reason = state.reason;
  const detail = reason === undefined ? 'the session store is unavailable' : messageOf(reason);
  return new SessionUnavailableError(`no session: ${detail}`, { cause: reason });
}

function sessionOf(req: Request): LiveSession {
  if (!req.session) throw unavailable(req);
  return req.session as LiveSession;
}

function call(run: (callback: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((error) => (error ? reject(error) : resolve())));
}

/**
 * Logs `user` in: regenerates the session id (the old key is deleted: no session fixation), stores
 * `user` as `req.session.user` (plus any `extra` fields) and saves it before resolving.
 * Rejects with `E_SESSION_UNAVAILABLE` when the store cannot be reached and `E_SESSION_TOO_LARGE`
 * when the session is above `maxSize`.
 */
export async function login(req: Request, user: unknown, extra: Record<string, unknown> = {}): Promise<void> {
  const current = sessionOf(req);
  const { storedUntil, createdAt } = bookkeepingOf(current as SessionData);
  if (storedUntil === undefined && createdAt === undefined) {
    // Never stored (no cookie came with the request): nothing to delete, just a new id and session.
    req.sessionStore.generate(req);
  } else {
    await call((done) => current.regenerate(done));
  }
  const fresh = sessionOf(req) as LiveSession & Record<string, unknown>;
  for (const [key, value] of Object.entries(extra)) {
    if (key !== 'cookie' && key !== '__proto__' && key !== 'constructor') fresh[key] = value;
  }
  // Written untyped: an application may narrow SessionData['user'] by declaration merging (the README shows how).
  (fresh as Record<string, unknown>).user = user;
  await call((done) => fresh.save(done));
}

/**
 * Logs out: deletes the session's key and clears the cookie. Without a session (store unavailable)
 * the cookie is still cleared, then it rejects with `E_SESSION_UNAVAILABLE` (the key expires by TTL).
 */
export async function logout(req: Request): Promise<void> {
  clearCookie(req);
  const state = requestState(req);
  if (!req.session) {
    if (state?.unavailable) throw unavailable(req);
    return;
  }
  const current = req.session;
  await call((done) => current.destroy(done));
}

/** Saves the session now, so the route sees `E_SESSION_TOO_LARGE` / `E_SESSION_UNAVAILABLE` itself. */
export async function save(req: Request): Promise<void> {
  const current = sessionOf(req);
  await call((done) => current.save(done));
}

/** `req.session.user`, or undefined (no session, or nobody logged in). */
export function userOf<User = unknown>(req: Request): User | undefined {
  return (req.session as (Session & { user?: User }) | undefined)?.user;
}

/**
 * Middleware for routes that need a session: passes `E_SESSION_UNAVAILABLE` to `next` when the
 * request has none because the store was unavailable.
 */
export function required(): RequestHandler {
  return function sessionRequired(req: Request, _res: Response, next: NextFunction): void {
    next(req.session ? undefined : unavailable(req));
  };
}

/** Options of `sessions.errorHandler()`. */
export interface SessionErrorHandlerOptions {
  /**
   * The `Retry-After` sent with the 503 (rounded up to whole seconds).
   * @default '1s' (the breaker's cool-down and the longest reconnect back-off)
   */
  retryAfter?: Duration;
}

/** Every option of `sessions.errorHandler()` with its default. */
export const sessionErrorHandlerDefaults = {
  retryAfter: '1s',
} as const satisfies OptionDefaults<SessionErrorHandlerOptions>;

/**
 * Error middleware: `E_SESSION_UNAVAILABLE` → `503` with `Retry-After` and an RFC 9457
 * `application/problem+json` body. Any other error goes on to the next error handler.
 */
export function errorHandler(options: SessionErrorHandlerOptions = {}): ErrorRequestHandler {
  assertOptionsObject(options, 'sessions.errorHandler');
  assertKnownOptions(options, sessionErrorHandlerDefaults);
  const retryAfter = parseDuration(options.retryAfter ?? sessionErrorHandlerDefaults.retryAfter, 'retryAfter');
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfter / 1000));
  return function sessionErrorHandler(error: unknown, _req: Request, res: Response, next: NextFunction): void {
    if (!isSessionUnavailable(error) || res.headersSent) {
      next(error);
      return;
    }
    res.status(503);
    res.setHeader('Retry-After', String(retryAfterSeconds));
    res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
    res.end(
      JSON.stringify({
        type: 'https://github.com/alchemorsel/redis-middleware#sessions',
        title: 'Session store unavailable',
        status: 503,
        detail: 'Sessions are temporarily unavailable; retry shortly.',
        code: SessionUnavailableError.code,
      }),
    );
  };
}

function clearCookie(req: Request): void {
  const config = requestState(req)?.config;
  const res = req.res;
  if (!config || !res || res.headersSent) return;
  const { path, domain, secure, sameSite, httpOnly, partitioned } = config.cookie;
  res.clearCookie(config.name, {
    path,
    domain,
    httpOnly,
    sameSite,
    partitioned,
    secure: secure === 'auto' ? req.secure : secure,
  });
}
