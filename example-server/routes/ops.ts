// Operations routes: GET /health (Redis status) and GET /metrics (Prometheus text).
import { Router } from 'express';
import type { RedisClient } from '../../lib';
import { healthReport } from '../health';
import type { AppMetrics } from '../observability';

/** `/health` answers 200 `{ redis: 'ok' | 'memory' }`, or 503 `{ redis: 'down', reason }` while Redis is unreachable. */
export function opsRoutes(
  clients: { redis: RedisClient; cacheRedis: RedisClient } | undefined,
  metrics: AppMetrics,
): Router {
  const router = Router();
  router.get('/health', async (_req, res) => {
    const report = await healthReport(clients);
    res.set('Cache-Control', 'no-store');
    res.status(report.redis === 'down' ? 503 : 200).json(report);
  });
  router.get('/metrics', async (_req, res) => {
    const text = await metrics.registry.metrics();
    res.set('Cache-Control', 'no-store');
    res.type(metrics.registry.contentType).send(text);
  });
  return router;
}
