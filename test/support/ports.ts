// Free loopback ports, including the +10000 cluster bus port, never handed out twice in one run.
import { createServer } from 'node:net';

const handedOut = new Set<number>();

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port free on 127.0.0.1 whose cluster bus port (port + 10000) is free too. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (handedOut.has(port) || handedOut.has(port + 10_000) || handedOut.has(port - 10_000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port found');
}
