// Scenario (ours, full stack): sessions() → rateLimit() (3 sliding windows, keyed by the user) → responseCache() hit.
import express from 'express';
import { createRedis, rateLimit, responseCache, sessions } from '../../lib';
import { HUGE_LIMIT, listen, PAYLOAD, redisUrl, SESSION_SECRET } from './common';

const redis = createRedis(redisUrl());
const app = express();
// Plain HTTP on loopback: 'auto' (Secure only over HTTPS), the default outside NODE_ENV=production.
app.use(sessions({ redis, secret: SESSION_SECRET, cookie: { secure: 'auto' } }));
app.use(rateLimit({ redis, name: 'global', windows: { '1m': HUGE_LIMIT, '1h': HUGE_LIMIT, '1d': HUGE_LIMIT } }));
app.post('/login', async (req, res) => {
  await sessions.login(req, { id: 42, name: 'bench' });
  res.json({ ok: true });
});
// A public document: the same for every user, so the cookie does not split the cache (apicache does the same).
app.get('/data', responseCache({ redis, ttl: '5m', ignoreCookies: true }), (_req, res) => {
  res.json(PAYLOAD);
});
listen(app, () => redis.quit());
