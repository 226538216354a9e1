// Session routes: POST /auth/login (id regenerated), POST /auth/logout, GET /me.
import { Router } from 'express';
import { sessions } from '../../lib';
import { type SqlDatabase, type User, upsertUser } from '../db';
import { HttpProblem } from '../problem';
import { parseLogin } from '../validate';

export function authRoutes(db: SqlDatabase): Router {
  const router = Router();

  router.post('/auth/login', async (req, res) => {
    const { username } = parseLogin(req);
    const user = upsertUser(db, username);
    // A new session id at login (no session fixation); the user is saved before we answer.
    await sessions.login(req, user);
    res.set('Cache-Control', 'no-store');
    res.json({ user });
  });

  router.post('/auth/logout', async (req, res) => {
    await sessions.logout(req);
    res.status(204).end();
  });

  router.get('/me', sessions.required(), (req, res) => {
    const user = sessions.user<User>(req);
    if (user === undefined) throw new HttpProblem(401, 'Unauthorized', 'Log in with POST /auth/login first');
    res.set('Cache-Control', 'private, no-store');
    res.json({ user });
  });

  return router;
}
