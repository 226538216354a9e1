// Scenario (peer): express-rate-limit with rate-limit-redis on ioredis, as their READMEs show (one fixed window).
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { Redis } from 'ioredis';
import { type RedisReply, RedisStore } from 'rate-limit-redis';
import { HUGE_LIMIT, listen, PAYLOAD, redisUrl } from './common';

const client = new Redis(redisUrl());
const app = express();
app.use(
  rateLimit({
    windowMs: 60_000,
    limit: HUGE_LIMIT,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: new RedisStore({
      sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<RedisReply>,
    }),
  }),
);
app.get('/data', (_req, res) => {
  res.json(PAYLOAD);
});
listen(app, () => client.quit());
