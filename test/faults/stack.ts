// The whole stack under test: the example's recipe API with every middleware, served on 127.0.0.1.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { openDatabase, prepareDatabase } from '../../example-server/db';
import { MODEL_NAME, standInModel } from '../../example-server/model';
import { createAppMetrics } from '../../example-server/observability';
import { notFound, problemHandler } from '../../example-server/problem';
import { aiRoutes } from '../../example-server/routes/ai';
import { authRoutes } from '../../example-server/routes/auth';
import { opsRoutes } from '../../example-server/routes/ops';
import { recipeRoutes } from '../../example-server/routes/recipes';
import { aiCache } from '../../lib/ai-cache';
import { queryCache } from '../../lib/query-cache';
import { rateLimit } from '../../lib/rate-limit';
import type { RedisClient } from '../../lib/redis';
import { responseCache } from '../../lib/response-cache';
import { sessions } from '../../lib/sessions';

/** The limits of `POST /ai/suggest`, as in the example server. */
export const AI_LIMIT_PER_MINUTE = 10;

export interface StackOptions {
  /** The Redis of sessions and rate limits. */
  redis: RedisClient;
  /** The Redis of the three caches. @default `redis` */
  cacheRedis?: RedisClient;
  /** How long one stand-in model call takes. @default 20 */
  modelDelayMs?: number;
}

/** A running stack: its base URL, what the test inspects, and `close()`. */
export interface Stack {
  url: string;
  /** Calls that reached the stand-in model. */
  modelCalls(): number;
  /** Errors the app's error handler saw (each one became a 5xx). */
  readonly errors: unknown[];
  close(): Promise<void>;
}

const SECRET = 'fault-suite-secret-0123456789abcdef0123456789';

/**
 * Mirrors `createApp()` of the example server (same routes, middlewares, order, limits, tags), with what
 * production needs and the example's one-client factory cannot express: the caches on their own Redis
 * (`cacheRedis`, for the out-of-memory fault) and responseCache's `lockTimeout` within the request bound.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { redis } = options;
  const cacheRedis = options.cacheRedis ?? redis;
  const db = openDatabase(':memory:');
  prepareDatabase(db);
  const metrics = createAppMetrics({ defaultMetrics: false });
  let calls = 0;
  const model = standInModel({ delayMs: options.modelDelayMs ?? 20, onCall: () => calls++ });

  const session = sessions({ redis, secret: SECRET });
  const globalLimit = rateLimit({ redis, name: 'global', windows: { '1m': 100, '1h': 1000, '1d': 10_000 } });
  const aiLimit = rateLimit({
    redis,
    name: '/ai/suggest',
    windows: { '1m': AI_LIMIT_PER_MINUTE, '1h': 100, '1d': 500 },
  });
  const queries = queryCache({ redis: cacheRedis, tables: { recipes: '10m' } });
  // lockWait as lockTimeout above: the default (60 s, bounded by lockTtl 10 s) also applies to a lock this process
  // left behind (seen when a Cluster primary was killed: an AI call waited 4.7 s) — reported to aiCache.
  const suggest = aiCache({ redis: cacheRedis, model: MODEL_NAME, ttl: '1h', lockWait: '500ms' }, model);
  // As the example, plus one setting: lockTimeout bounds how long a request waits for a fill lock. Its default
  // (3 s) also applies to a lock this process left behind when its SET NX reply or its DEL was lost to a fault
  // (seen during slot migration: a request waited 2.5 s for a lock nobody held) — reported to responseCache.
  const lockTimeout = '500ms';
  const listCache = responseCache({
    redis: cacheRedis,
    ttl: '5m',
    tags: () => ['recipe-list'],
    ignoreCookies: true,
    lockTimeout,
  });
  const itemCache = responseCache({
    redis: cacheRedis,
    ttl: '5m',
    tags: (req) => [`recipe:${req.params.id}`],
    ignoreCookies: true,
    lockTimeout,
  });

  const errors: unknown[] = [];
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 1);
  app.use(express.json({ limit: '32kb' }));
  app.use(session);
  app.use(globalLimit);
  app.use(opsRoutes(redis, metrics));
  app.use(authRoutes(db));
  app.use(
    recipeRoutes({
      db,
      cachedQuery: (query, load) => queries.get(query, load),
      write: async (run, id) => {
        // As the example: the cached queries first (after the write succeeded), then the responses.
        const result = await queries.write(['recipes'], run);
        await itemCache.invalidate({ tags: ['recipe-list', `recipe:${id}`] }).catch(() => 0);
        return result;
      },
      listCache,
      itemCache,
    }),
  );
  app.use(aiRoutes({ suggest, limit: aiLimit }));
  app.use(notFound);
  app.use(sessions.errorHandler());
  app.use(problemHandler((error) => errors.push(error)));

  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    modelCalls: () => calls,
    errors,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      metrics.close();
      session.close();
      await queries.close();
      db.close();
    },
  };
}
