// What every benchmark server shares: the ~1 KB JSON payload, the Redis URL, and a listen() that reports the port.
import type { Server } from 'node:http';
import type { Express } from 'express';

/** The ~1 KB JSON document every scenario answers with (a page of recipes). */
export const PAYLOAD = {
  page: 1,
  recipes: Array.from({ length: 8 }, (_, i) => ({
    id: i + 1,
    title: `Recipe number ${i + 1} with rice`,
    cuisine: i % 2 ? 'thai' : 'italian',
    minutes: 20 + i,
    tags: ['quick', 'dinner'],
  })),
};

/** The bench Redis, passed by the orchestrator. */
export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set (bench servers are started by bench/run.ts)');
  return url;
}

/** A limit no benchmark run reaches: a 429 in a rate-limit scenario means a limit was set too low. */
export const HUGE_LIMIT = 1_000_000_000;

/** A fixed signing secret (32+ characters) for the session scenarios. */
export const SESSION_SECRET = 'bench-secret-0123456789abcdef0123456789';

/** Listens on a free loopback port and prints `LISTENING <port>` for the orchestrator; exits on SIGTERM. */
export function listen(app: Express, close: () => Promise<unknown> = async () => undefined): void {
  const server: Server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    process.stdout.write(`LISTENING ${port}\n`);
  });
  server.keepAliveTimeout = 60_000;
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
