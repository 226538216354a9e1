// Scenario (ours): rateLimit() with three sliding windows (1 min, 1 h, 1 day), limits no run reaches.
import express from 'express';
import { createRedis, rateLimit } from '../../lib';
import { HUGE_LIMIT, listen, PAYLOAD, redisUrl } from './common';

const redis = createRedis(redisUrl());
const app = express();
app.use(rateLimit({ redis, name: 'global', windows: { '1m': HUGE_LIMIT, '1h': HUGE_LIMIT, '1d': HUGE_LIMIT } }));
app.get('/data', (_req, res) => {
  res.json(PAYLOAD);
});
listen(app, () => redis.quit());
