// The reverse proxy under test: an Express app with responseCache() in front of the cache-tests origin server.
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { responseCache } from '../lib';
import type { ResponseCacheOptions } from '../lib/response-cache';

/** Request headers that belong to one connection (RFC 9110 §7.6.1), not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** Names a message's Connection header lists (RFC 9110 §7.6.1): hop-by-hop too. */
function listedInConnection(rawHeaders: readonly string[]): Set<string> {
  const listed = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() !== 'connection') continue;
    for (const name of (rawHeaders[i + 1] as string).split(',')) listed.add(name.trim().toLowerCase());
  }
  return listed;
}

/** Relays a request to the origin and its response back, headers as sent (repeated ones kept apart). */
function relay(origin: URL, req: Request, res: Response): void {
  const headers: Record<string, string | string[]> = {};
  const listed = listedInConnection(req.rawHeaders);
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !listed.has(name)) headers[name] = value;
  }
  const chunks: Buffer[] = [];
  let answered = false;
  const upstream = http.request(
    { host: origin.hostname, port: origin.port, method: req.method, path: req.originalUrl, headers, agent: false },
    (answer: IncomingMessage) => {
      answered = true;
      res.status(answer.statusCode ?? 502);
      const dropped = listedInConnection(answer.rawHeaders);
      const grouped = new Map<string, string[]>();
      for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
        const name = (answer.rawHeaders[i] as string).toLowerCase();
        if (HOP_BY_HOP.has(name) || dropped.has(name) || name === 'content-length') continue;
        grouped.set(name, [...(grouped.get(name) ?? []), answer.rawHeaders[i + 1] as string]);
      }
      for (const [name, values] of grouped) res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => res.end(Buffer.concat(chunks)));
    },
  );
  // Interim responses (103 Early Hints) go through as they come; they are never part of what is cached.
  upstream.on('information', (info) => {
    if (info.statusCode === 103 && !res.headersSent) res.writeEarlyHints(info.headers as Record<string, string>);
  });
  upstream.on('error', () => {
    // An origin that sent more body than its Content-Length: what it announced has arrived.
    if (answered) res.end(Buffer.concat(chunks));
    else if (!res.headersSent) res.status(502).end('origin failed');
  });
  req.pipe(upstream);
}

/** Starts the proxy on a free loopback port; resolves to its base URL and a close function. */
export async function startProxy(
  origin: URL,
  options: ResponseCacheOptions,
): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.use(responseCache(options));
  app.use((req, res) => relay(origin, req, res));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
