// sessions(): express-session on Redis (connect-redis, extended), secure by default, never hanging a request.
import type { RequestHandler } from 'express';
import session, { type Store } from 'express-session';
import { sharedMemoryBackend } from '../redis';
import { errorHandler, login, logout, required, save, userOf } from './helpers';
import { sessionMiddleware } from './middleware';
import { parseSessionsOptions, type SessionsOptions } from './options';
import { SessionStore } from './store';

export { isSessionUnavailable, SessionTooLargeError, SessionUnavailableError, sessionErrors } from './errors';
export type { SessionErrorHandlerOptions } from './helpers';
export type { SessionCookieOptions, SessionsOptions } from './options';
export { SessionStore } from './store';

/** The middleware `sessions()` returns. */
export interface SessionsMiddleware extends RequestHandler {
  /** The store: `SessionStore` on Redis, express-session's `MemoryStore` without `redis`. */
  readonly store: Store;
  /** Stops following the Redis client's events (never closes the client). */
  close(): void;
}

/**
 * Sessions in Redis under `session:<id>`, shared by every app instance on that Redis.
 *
 * @example
 * app.use(sessions({ redis, secret: process.env.SESSION_SECRET }));
 * app.post('/login', async (req, res) => { await sessions.login(req, user); res.json({ user }); });
 * app.get('/me', sessions.required(), (req, res) => res.json({ user: sessions.user(req) }));
 * app.use(sessions.errorHandler()); // E_SESSION_UNAVAILABLE → 503 + Retry-After
 */
export function sessions(options: SessionsOptions): SessionsMiddleware {
  const config = parseSessionsOptions(options);
  let store: Store;
  let storeReady: () => boolean;
  let close: () => void;
  if (config.redis === undefined) {
    sharedMemoryBackend(); // prints the one memory-mode warning line of the process
    store = new session.MemoryStore();
    storeReady = () => true;
    close = () => undefined;
  } else {
    const redisStore = new SessionStore(config.redis, {
      ttlMs: config.ttlMs,
      touchAfterMs: config.touchAfterMs,
      maxLifetimeMs: config.maxLifetimeMs,
      maxSize: config.maxSize,
      timeoutMs: config.redisTimeoutMs,
    });
    store = redisStore;
    storeReady = () => redisStore.isReady;
    close = () => redisStore.close();
  }
  const middleware = sessionMiddleware(config, store, storeReady);
  return Object.assign(middleware, { store, close });
}

/** Regenerates the id (old key deleted), stores the user and saves. */
sessions.login = login;
/** Deletes the session's key and clears the cookie. */
sessions.logout = logout;
/** Saves now, so the route sees size and store errors. */
sessions.save = save;
/** The logged-in user of the request, if any. */
sessions.user = userOf;
/** Middleware: `E_SESSION_UNAVAILABLE` when the request has no session because the store is unavailable. */
sessions.required = required;
/** Error middleware: `E_SESSION_UNAVAILABLE` → 503 + Retry-After, problem+json body. */
sessions.errorHandler = errorHandler;
