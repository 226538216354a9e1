// The whole stack under test: the example server's app (every middleware), served on 127.0.0.1.
import type { AddressInfo } from 'node:net';
import { createApp } from '../../example-server/app';
import { openDatabase } from '../../example-server/db';
import type { RedisClient } from '../../lib/redis';

/** The per-minute limit of `POST /ai/suggest` in the example server. */
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
  /** Errors the app's error handler saw (each one became a 5xx). */
  readonly errors: unknown[];
  close(): Promise<void>;
}

const SECRET = 'fault-suite-secret-0123456789abcdef0123456789';

/** Starts the example app with an in-memory database, trusting one proxy hop (the load sets X-Forwarded-For). */
export async function startStack(options: StackOptions): Promise<Stack> {
  const db = openDatabase(':memory:');
  const errors: unknown[] = [];
  const example = createApp({
    redis: options.redis,
    cacheRedis: options.cacheRedis,
    db,
    sessionSecret: SECRET,
    modelDelayMs: options.modelDelayMs ?? 20,
    trustProxy: 1,
    logError: (error) => errors.push(error),
    logWarning: () => undefined,
    defaultMetrics: false,
  });
  const server = example.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    errors,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await example.close();
      db.close();
    },
  };
}
