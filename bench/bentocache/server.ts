// Scenario (peer): bentocache getOrSet around the handler's JSON; BENTO_MODE=l2 (Redis only) or l1l2 (memory L1 + Redis + bus).
import express from 'express';
import { listen, PAYLOAD, redisUrl } from '../servers/common';
import { type BentoMode, createBento } from './bento';

async function main(): Promise<void> {
  const mode = (process.env.BENTO_MODE ?? 'l2') as BentoMode;
  const bento = await createBento(mode, redisUrl());
  const app = express();
  app.get('/data', async (_req, res, next) => {
    try {
      res.json(await bento.getOrSet({ key: 'data', ttl: '5m', factory: () => PAYLOAD }));
    } catch (error) {
      next(error);
    }
  });
  listen(app, () => bento.disconnectAll());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
