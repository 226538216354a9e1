// Session routes: POST /auth/login (id regenerated, limited per IP), POST /auth/logout, GET /me; and requireUser for other routes.
import { type RequestHandler, Router } from 'express';
import { sessions } from '../../lib';
import { type SqlDatabase, type User, upsertUser } from '../db';
import { HttpProblem } from '../problem';
import { parseLogin } from '../validate';

export interface AuthDeps {
  db: SqlDatabase;
  /** The per-IP limiter of POST /auth/login. */
  limit: RequestHandler;
}

/** Passes to the route only with a logged-in user; 401 otherwise (503 when the session store is unavailable). */
export function requireUser(): RequestHandler[] {
  return [
    sessions.required(),
    (req, _res, next) => {
      next(
        sessions.user<User>(req) === undefined
          ? new HttpProblem(401, 'Unauthorized', 'Log in with POST /auth/login first')
          : undefined,
      );
    },
  ];
}

export function authRoutes(deps: AuthDeps): Router {
  const router = Router();

  // A stand-in for real authentication: any valid username logs in, without a password.
  router.post('/auth/login', deps.limit, async (req, res) => {
    const { username } = parseLogin(req);
    // A Secure cookie is never set over plain HTTP: refuse before a session key is written that no
    // client could ever send back (production without TRUST_PROXY; the start-up warning says what to set).
    if (req.session?.cookie.secure === true && !req.secure) {
      throw new HttpProblem(
        403,
        'Forbidden',
        'The session cookie is Secure, so logins need HTTPS (behind a TLS proxy, the server needs TRUST_PROXY)',
      );
    }
    const user = upsertUser(deps.db, username);
    // A new session id at login (no session fixation); the user is saved before we answer.
    await sessions.login(req, user);
    res.set('Cache-Control', 'no-store');
    res.json({ user });
  });

  router.post('/auth/logout', async (req, res) => {
    await sessions.logout(req);
    res.status(204).end();
  });

  router.get('/me', ...requireUser(), (req, res) => {
    res.set('Cache-Control', 'private, no-store');
    res.json({ user: sessions.user<User>(req) });
  });

  return router;
}
