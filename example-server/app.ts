// createApp(): the example recipe API with every middleware mounted, built from a Redis client and a database.
import { randomBytes } from 'node:crypto';
import express, { type Express } from 'express';
import { aiCache, queryCache, type RedisClient, rateLimit, responseCache, sessions } from '../lib';
import { prepareDatabase, type SqlDatabase } from './db';
import { MODEL_NAME, standInModel } from './model';
import { type AppMetrics, createAppMetrics } from './observability';
import { notFound, problemHandler } from './problem';
import { aiRoutes } from './routes/ai';
import { authRoutes } from './routes/auth';
import { opsRoutes } from './routes/ops';
import { recipeRoutes } from './routes/recipes';

/** Options of `createApp()`. */
export interface CreateAppOptions {
  /** The Redis client every middleware uses; leave it out for memory mode. */
  redis?: RedisClient;
  /**
   * The client of the three caches: another logical database (what `npm start` passes: the session
   * database + 1) or a Redis of their own, as production wants it (`allkeys-lru` there, `noeviction`
   * for sessions and limits: see docs/production.md).
   * @default `redis`
   */
  cacheRedis?: RedisClient;
  /** The SQL database (better-sqlite3); tables are created and seeded when missing. */
  db: SqlDatabase;
  /**
   * Secret(s) signing the session cookie; every instance behind one load balancer needs the same.
   * @default a random secret per process (sessions then do not survive a restart)
   */
  sessionSecret?: string | string[];
  /** How long one call of the stand-in model takes, in ms. @default 300 */
  modelDelayMs?: number;
  /** Express `trust proxy` setting (which `X-Forwarded-For` hops to believe for the client IP). @default false */
  trustProxy?: boolean | number | string;
  /** Where unexpected errors are logged (never sent to clients). @default console.error */
  logError?: (error: unknown) => void;
  /** Where degraded-but-served situations are logged. @default console.warn */
  logWarning?: (message: string) => void;
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

/** Builds the example app. Mount order: sessions → rate limit → response cache → routes. */
export function createApp(options: CreateAppOptions): ExampleApp {
  const { redis, db } = options;
  const cacheRedis = options.cacheRedis ?? redis;
  const logWarning = options.logWarning ?? ((message: string) => console.warn(`[example] ${message}`));
  prepareDatabase(db);
  const metrics = createAppMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const model = standInModel({ delayMs: options.modelDelayMs ?? 300, onCall: metrics.countModelCall });

  // One line each: the library's middlewares (sessions and limits on `redis`, caches on `cacheRedis`).
  const session = sessions({ redis, secret: options.sessionSecret ?? randomBytes(32).toString('hex') });
  const globalLimit = rateLimit({ redis, name: 'global', windows: { '1m': 100, '1h': 1000, '1d': 10_000 } });
  // Logins need no password here (a stand-in for real authentication) and each one is a fresh per-user
  // budget, so they are limited per client IP (never per user): 60/min leaves room for many users behind
  // one address. Without TRUST_PROXY behind a load balancer, every user shares the balancer's address.
  const loginLimit = rateLimit({ redis, name: '/auth/login', windows: { '1m': 60 }, userId: () => undefined });
  // Named as its route, so keys read rate:{<user>|/ai/suggest}:1m and metrics say limiter="/ai/suggest".
  const aiLimit = rateLimit({ redis, name: '/ai/suggest', windows: { '1m': 10, '1h': 100, '1d': 500 } });
  const queries = queryCache({ redis: cacheRedis, tables: { recipes: '10m' } });
  // The recipe routes answer the same to everyone: a session cookie must not stop them from being cached.
  // Their handlers take milliseconds, so a request waits at most 500 ms for another instance's fill.
  const recipeCache = { redis: cacheRedis, ttl: '5m', ignoreCookies: true, lockTimeout: '500ms' } as const;
  const listCache = responseCache({ ...recipeCache, tags: () => ['recipe-list'] });
  const itemCache = responseCache({ ...recipeCache, tags: (req) => [`recipe:${req.params.id}`] });
  // A request waits at most 400 ms for another instance computing the same suggestion, then computes its own:
  // the model answers in about 300 ms. The worst case is lockWait plus one Redis timeout (a read after the wait
  // that meets a frozen Redis; the breaker then fails the rest fast): 400 + 500 ms, inside the 1 s budget.
  const suggest = aiCache({ redis: cacheRedis, model: MODEL_NAME, ttl: '1h', lockWait: '400ms' }, model);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.set('db', db);
  app.use(metrics.requestTimer);
  app.use(session);
  app.use(globalLimit);
  // Bodies are parsed after the limiter: a client over its limit costs no parsing.
  app.use(express.json({ limit: '32kb' }));

  app.use(opsRoutes(redis && cacheRedis ? { redis, cacheRedis } : undefined, metrics));
  app.use(authRoutes({ db, limit: loginLimit }));
  app.use(
    recipeRoutes({
      db,
      cachedQuery: (query, load) => queries.get(query, load),
      write: async (run, id) => {
        // The cached queries first (after the write succeeded), then the responses built from them.
        const result = await queries.write(['recipes'], run);
        // When Redis cannot take it now, responseCache keeps it pending: those entries are not served from
        // this process until a background retry gets through.
        await itemCache.invalidate({ tags: ['recipe-list', `recipe:${id}`] }).catch((error: unknown) => {
          const reason = error instanceof Error ? error.message : String(error);
          logWarning(`cached responses of recipe ${id} not invalidated yet (retrying): ${reason}`);
        });
        return result;
      },
      listCache,
      itemCache,
    }),
  );
  app.use(aiRoutes({ suggest, limit: aiLimit }));

  app.use(notFound);
  app.use(sessions.errorHandler());
  app.use(problemHandler(options.logError ?? ((error) => console.error(error))));

  return {
    app,
    metrics,
    close: async () => {
      metrics.close();
      session.close();
      await queries.close();
    },
  };
}
