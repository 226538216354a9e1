// Scenario (peer): rate-limiter-flexible RateLimiterRedis as an Express middleware, as its README shows (one fixed window).
import express from 'express';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { HUGE_LIMIT, listen, PAYLOAD, redisUrl } from './common';

const client = new Redis(redisUrl(), { enableOfflineQueue: false });
const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: 'rlflx', points: HUGE_LIMIT, duration: 60 });
const app = express();
app.use((req, res, next) => {
  limiter
    .consume(req.ip ?? 'unknown')
    .then(() => next())
    .catch(() => res.status(429).send('Too Many Requests'));
});
app.get('/data', (_req, res) => {
  res.json(PAYLOAD);
});
// enableOfflineQueue: false (as the README advises) makes calls fail until the client is ready.
client.once('ready', () => listen(app, () => client.quit()));
