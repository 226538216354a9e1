// createApp(): the example recipe API with every middleware mounted, built from a Redis client and a database.
import express, { type Express, type RequestHandler } from 'express';
import type { RedisClient } from '../lib/redis';
import { prepareDatabase, type SqlDatabase } from './db';
import { standInModel } from './model';
import { type AppMetrics, createAppMetrics } from './observability';
import { notFound, problemHandler } from './problem';
import { aiRoutes } from './routes/ai';
import { opsRoutes } from './routes/ops';
import { recipeRoutes } from './routes/recipes';

/** Options of `createApp()`. */
export interface CreateAppOptions {
  /** The Redis client every middleware uses; leave it out for memory mode. */
  redis?: RedisClient;
  /** The SQL database (better-sqlite3); tables are created and seeded when missing. */
  db: SqlDatabase;
  /** How long one call of the stand-in model takes, in ms. @default 300 */
  modelDelayMs?: number;
  /** Express `trust proxy` setting (which `X-Forwarded-For` hops to believe for the client IP). @default false */
  trustProxy?: boolean | number | string;
  /** Where unexpected errors are logged (never sent to clients). @default console.error */
  logError?: (error: unknown) => void;
  /** Also export Node.js process metrics (`process_*`, `nodejs_*`) on /metrics. @default true */
  defaultMetrics?: boolean;
}

/** The app and what it holds. */
export interface ExampleApp {
  app: Express;
  metrics: AppMetrics;
  /** Releases what the app opened (not the Redis client or the database it was given). */
  close(): Promise<void>;
}

const passThrough: RequestHandler = (_req, _res, next) => next();

/** Builds the example app. Mount order: sessions → rate limit → response cache → routes. */
export function createApp(options: CreateAppOptions): ExampleApp {
  const { redis, db } = options;
  prepareDatabase(db);
  const metrics = createAppMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const model = standInModel({ delayMs: options.modelDelayMs ?? 300, onCall: metrics.countModelCall });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.use(metrics.requestTimer);
  app.use(express.json({ limit: '32kb' }));

  app.use(opsRoutes(redis, metrics));
  app.use(
    recipeRoutes({
      db,
      cachedQuery: async (_query, load) => load(),
      write: async (run) => run(),
      listCache: passThrough,
      itemCache: passThrough,
    }),
  );
  app.use(aiRoutes({ suggest: model, limit: passThrough }));

  app.use(notFound);
  app.use(problemHandler(options.logError ?? ((error) => console.error(error))));

  return {
    app,
    metrics,
    close: async () => {
      metrics.close();
    },
  };
}
