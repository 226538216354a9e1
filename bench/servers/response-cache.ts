// Scenario (ours): responseCache() hit (ETag, Cache-Control, Age, Vary work included), defaults otherwise.
import express from 'express';
import { createRedis, responseCache } from '../../lib';
import { listen, PAYLOAD, redisUrl } from './common';

const redis = createRedis(redisUrl());
const app = express();
app.get('/data', responseCache({ redis, ttl: '5m' }), (_req, res) => {
  res.json(PAYLOAD);
});
listen(app, () => redis.quit());
