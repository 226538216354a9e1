// The request path: express-session over our store, with the Redis-down policy (go on without a session).
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session, { type Store } from 'express-session';
import { messageOf } from '../common/errors';
import { emitEvent } from '../common/events';
import { debugFor, warn } from '../common/log';
import { sessionKey } from '../redis';
import { isSessionUnavailable, SessionTooLargeError } from './errors';
import type { SessionsConfig } from './options';
import { type RequestState, setRequestState } from './state';

const debug = debugFor('sessions');

/**
 * Wraps express-session so that:
 * - a store that is disconnected, or fails/times out while loading, leaves the request without a
 *   session (`req.session` undefined, no cookie sent) instead of failing it; `sessions.required()` and
 *   the helpers turn that into `E_SESSION_UNAVAILABLE`;
 * - a save/touch that fails after the response was committed is logged and reported as an event,
 *   not passed to Express (whose final handler would cut the finished response's socket).
 */
export function sessionMiddleware(config: SessionsConfig, store: Store, storeReady: () => boolean): RequestHandler {
  const inner = session({
    store,
    secret: config.secrets,
    name: config.name,
    cookie: config.cookie,
    rolling: config.rolling,
    resave: false,
    saveUninitialized: false,
    unset: 'keep',
    ...(config.proxy === undefined ? {} : { proxy: config.proxy }),
  });

  return function sessions(req: Request, res: Response, next: NextFunction): void {
    const state: RequestState = { config, unavailable: false };
    setRequestState(req, state);
    let continued = false;
    inner(req, res, (error?: unknown) => {
      if (continued) {
        reportLateFailure(error, req);
        return;
      }
      continued = true;
      if (error === undefined || error === null) {
        if (!req.session && !storeReady()) {
          state.unavailable = true;
          state.reason = 'the session store is disconnected';
          // express-session skipped the store altogether: counted here, or a Redis outage would read as zero errors.
          emitEvent({ kind: 'session', outcome: 'store-error' });
          debug('no session for %s %s: store disconnected', req.method, req.originalUrl);
        }
        next();
        return;
      }
      if (isSessionUnavailable(error)) {
        state.unavailable = true;
        state.reason = error;
        emitEvent({ kind: 'session', outcome: 'store-error' });
        debug('no session for %s %s: %s', req.method, req.originalUrl, messageOf(error));
        next();
        return;
      }
      next(error);
    });
  };
}

function reportLateFailure(error: unknown, req: Request): void {
  if (error === undefined || error === null) return;
  const where = `${req.method} ${req.originalUrl}, key ${sessionKey(req.sessionID)}`;
  if (error instanceof SessionTooLargeError) {
    warn('W_SESSION_TOO_LARGE', `${error.message} (${where}); use sessions.save(req) to handle it in the route`);
  } else {
    warn('W_SESSION_NOT_SAVED', `session not saved after the response to ${where}: ${messageOf(error)}`);
  }
}
