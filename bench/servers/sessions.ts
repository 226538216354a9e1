// Scenario (ours): sessions() with a valid cookie on every request (the route reads the session's user).
import express from 'express';
import { createRedis, sessions } from '../../lib';
import { listen, PAYLOAD, redisUrl, SESSION_SECRET } from './common';

const redis = createRedis(redisUrl());
const app = express();
// Plain HTTP on loopback: 'auto' (Secure only over HTTPS), the default outside NODE_ENV=production.
app.use(sessions({ redis, secret: SESSION_SECRET, cookie: { secure: 'auto' } }));
app.post('/login', async (req, res) => {
  await sessions.login(req, { id: 42, name: 'bench' });
  res.json({ ok: true });
});
app.get('/data', (req, res) => {
  if (!sessions.user(req)) {
    res.status(401).end();
    return;
  }
  res.json(PAYLOAD);
});
listen(app, () => redis.quit());
