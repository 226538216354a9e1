// Scenario (peer full stack): express-session + connect-redis, rate-limiter-flexible RateLimiterRedis, apicache hit.
import apicache from 'apicache';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { HUGE_LIMIT, listen, PAYLOAD, redisUrl, SESSION_SECRET } from './common';

const client = new Redis(redisUrl());
const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: 'rlflx', points: HUGE_LIMIT, duration: 60 });
const app = express();
app.use(
  session({ store: new RedisStore({ client }), secret: SESSION_SECRET, resave: false, saveUninitialized: false }),
);
app.use((req, res, next) => {
  const user = (req.session as unknown as { user?: { id: number } }).user;
  limiter
    .consume(user ? `u${user.id}` : (req.ip ?? 'unknown'))
    .then(() => next())
    .catch(() => res.status(429).send('Too Many Requests'));
});
app.post('/login', (req, res) => {
  (req.session as unknown as { user: unknown }).user = { id: 42, name: 'bench' };
  res.json({ ok: true });
});
app.get('/data', apicache.middleware('5 minutes'), (_req, res) => {
  res.json(PAYLOAD);
});
listen(app, () => client.quit());
