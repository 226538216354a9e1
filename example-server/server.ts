// startServer(): reads the environment, opens Redis and the database, listens, and stops cleanly.
import type { Server } from 'node:http';
import { join } from 'node:path';
import { type RedisClient, resolveBackend } from '../lib/redis';
import { createApp } from './app';
import { connectRedis } from './connect';
import { openDatabase } from './db';

/** A running example server. */
export interface RunningServer {
  server: Server;
  port: number;
  redis: RedisClient | undefined;
  /** Stops accepting connections, waits for open requests, then closes Redis and the database. */
  stop(): Promise<void>;
}

/** Where the database lives unless `DB_FILE` says otherwise (git-ignored). */
export const DEFAULT_DB_FILE = join(__dirname, 'data', 'recipes.db');

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`PORT must be a port number from 0 to 65535; received '${value}'`);
  }
  return port;
}

/** `TRUST_PROXY`: a number of proxy hops, `true`/`false`, or addresses as Express accepts them. */
function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** Starts the example on `PORT` (default 3000) with the Redis of the environment, or in memory mode. */
export async function startServer(env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  const port = parsePort(env.PORT);
  const redis = await connectRedis(env);
  const db = openDatabase(env.DB_FILE || DEFAULT_DB_FILE);
  const example = createApp({
    redis,
    db,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    ...(env.SESSION_SECRET ? { sessionSecret: env.SESSION_SECRET.split(',') } : {}),
  });
  const server = example.app.listen(port);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive connections would hold close() open.
        server.closeIdleConnections();
      });
      await example.close();
      if (redis) {
        // The pub/sub connection the caches share (responseCache and aiCache have no close() of their own yet).
        await resolveBackend({ redis }).close();
        await redis.quit().catch(() => redis.disconnect());
      }
      db.close();
    })();
    return stopping;
  };
  return { server, port: actualPort, redis, stop };
}
