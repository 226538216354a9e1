// Scenario (ours): rateLimit() with 1 or 3 sliding windows (RL_WINDOWS), headers on or off (RL_HEADERS), limits no run reaches.
import express from 'express';
import { createRedis, rateLimit } from '../../lib';
import { HUGE_LIMIT, listen, PAYLOAD, redisUrl } from './common';

const ONE = { '1m': HUGE_LIMIT };
const THREE = { '1m': HUGE_LIMIT, '1h': HUGE_LIMIT, '1d': HUGE_LIMIT };

const redis = createRedis(redisUrl(), { enableAutoPipelining: process.env.RL_AUTOPIPELINE !== '0' });
const app = express();
app.use(
  rateLimit({
    redis,
    name: 'global',
    windows: process.env.RL_WINDOWS === '1' ? ONE : THREE,
    standardHeaders: process.env.RL_HEADERS !== '0',
  }),
);
app.get('/data', (_req, res) => {
  res.json(PAYLOAD);
});
listen(app, () => redis.quit());
