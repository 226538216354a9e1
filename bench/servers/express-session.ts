// Scenario (peer): express-session with connect-redis 8.1 on ioredis, as their READMEs show; requests carry a valid cookie.
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { Redis } from 'ioredis';
import { listen, PAYLOAD, redisUrl, SESSION_SECRET } from './common';

const client = new Redis(redisUrl());
const app = express();
app.use(
  session({
    store: new RedisStore({ client }),
    secret: SESSION_SECRET,
    resave: false,
    saveUninitialized: false,
  }),
);
app.post('/login', (req, res) => {
  (req.session as unknown as { user: unknown }).user = { id: 42, name: 'bench' };
  res.json({ ok: true });
});
app.get('/data', (req, res) => {
  if (!(req.session as unknown as { user?: unknown }).user) {
    res.status(401).end();
    return;
  }
  res.json(PAYLOAD);
});
listen(app, () => client.quit());
