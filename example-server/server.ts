// startServer(): reads the environment, opens Redis and the database, listens, and stops cleanly.
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createApp } from './app';
import { type Connection, connectRedis, envValue, StartupError } from './connect';
import { openDatabase } from './db';
import { sessionSecret } from './secret';

/** A running example server. */
export interface RunningServer {
  server: Server;
  port: number;
  /** Where its Redis is and how it went at start, or memory mode and why. */
  connection: Connection;
  /** Stops accepting connections, waits for open requests, then closes Redis and the database. */
  stop(): Promise<void>;
}

/** Where the database and the development session secret live unless `DATA_DIR` says otherwise (git-ignored). */
export const DEFAULT_DATA_DIR = join(__dirname, 'data');

function parsePort(value: string | undefined): number {
  if (value === undefined) return 3000;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new StartupError(`PORT must be a port number from 0 to 65535; received '${value}'`);
  }
  return port;
}

/** `TRUST_PROXY`: a number of proxy hops, `true`/`false`, or addresses as Express accepts them. */
function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}

/**
 * Starts the example on `PORT` (default 3000). Every mistake in the environment rejects before anything
 * listens; once it listens, a Redis that goes away is waited for, never a reason to exit.
 */
export async function startServer(
  env: NodeJS.ProcessEnv = process.env,
  logWarning: (message: string) => void = (message) => console.warn(`[example] ${message}`),
): Promise<RunningServer> {
  const port = parsePort(envValue(env, 'PORT'));
  const trustProxy = parseTrustProxy(envValue(env, 'TRUST_PROXY'));
  const dataDir = envValue(env, 'DATA_DIR') ?? DEFAULT_DATA_DIR;
  const secret = sessionSecret(env, dataDir);
  const connection = await connectRedis(env);
  const clients = connection.mode === 'redis' ? connection : undefined;
  if (clients?.notAnswering !== undefined) {
    logWarning(
      `Redis at ${clients.target} does not answer yet (${clients.notAnswering}); serving anyway: /health answers 503 and the clients reconnect until it does`,
    );
  }
  if (env.NODE_ENV === 'production' && trustProxy === false) {
    logWarning(
      'NODE_ENV=production makes the session cookie Secure, and without TRUST_PROXY every request counts as plain HTTP: logins answer 403. ' +
        'Serve it behind a TLS proxy and set TRUST_PROXY to the number of proxies in front (e.g. TRUST_PROXY=1)',
    );
  }
  const db = openDatabase(envValue(env, 'DB_FILE') ?? join(dataDir, 'recipes.db'));
  const example = createApp({
    ...(clients ? { redis: clients.redis, cacheRedis: clients.cacheRedis } : {}),
    db,
    trustProxy,
    sessionSecret: secret,
    logWarning,
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
      // quit() also closes the pub/sub connection the caches opened beside each client.
      for (const client of new Set(clients ? [clients.redis, clients.cacheRedis] : [])) {
        await client.quit().catch(() => client.disconnect());
      }
      db.close();
    })();
    return stopping;
  };
  return { server, port: actualPort, connection, stop };
}
