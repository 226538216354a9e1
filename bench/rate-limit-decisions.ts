// In-process A/B of rateLimit() builds: app CPU µs per decision through the real middleware (stub request and
// response, no HTTP), 50 concurrent callers on one createRedis() client. Compares checkouts of this repo.
// Each build runs in a process of its own, builds alternated twice, on one throwaway Redis.
// Usage: npx tsx bench/rate-limit-decisions.ts <checkout>[,<checkout>…] [windows: 1|3] [rounds]
//   e.g. git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
//        npx tsx bench/rate-limit-decisions.ts /tmp/before,. 3
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { RedisNode } from '../test/support/redis-node';

const [checkouts = '.', windowCount = '3', roundsArg = '4'] = process.argv.slice(2);
const WINDOWS: Record<string, number> = windowCount === '1' ? { '1m': 1e9 } : { '1m': 1e9, '1h': 1e9, '1d': 1e9 };
const CALLERS = 50;
const PER_CALLER = 1000;

function stubRequest() {
  return { ip: '127.0.0.1', headers: {}, app: { get: () => false }, method: 'GET', url: '/data' };
}

function stubResponse() {
  const headers: Record<string, unknown> = {};
  return {
    locals: {},
    headersSent: false,
    getHeader: (name: string) => headers[name.toLowerCase()],
    setHeader: (name: string, value: unknown) => {
      headers[name.toLowerCase()] = value;
    },
    on() {},
    once() {},
    off() {},
  };
}

/** Mean CPU µs per decision of `rounds` rounds, after a warm-up, for the build in `root`. */
async function measureBuild(root: string, port: number, rounds: number): Promise<number[]> {
  const { createRedis, rateLimit } = (await import(resolve(root, 'lib/index.ts'))) as typeof import('../lib');
  const redis = createRedis(`redis://127.0.0.1:${port}`);
  const middleware = rateLimit({ redis, name: 'global', windows: WINDOWS });
  const caller = async (calls: number) => {
    for (let i = 0; i < calls; i++) {
      await new Promise<void>((done, fail) =>
        middleware(stubRequest() as never, stubResponse() as never, (error?: unknown) =>
          error ? fail(error) : done(),
        ),
      );
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, () => caller(PER_CALLER / 2)));
  const results: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = process.cpuUsage();
    await Promise.all(Array.from({ length: CALLERS }, () => caller(PER_CALLER)));
    const used = process.cpuUsage(before);
    results.push((used.user + used.system) / (CALLERS * PER_CALLER));
  }
  await redis.quit();
  return results;
}

async function main(): Promise<void> {
  const childPort = process.env.BENCH_DECISIONS_PORT;
  if (childPort) {
    const results = await measureBuild(checkouts, Number(childPort), Number(roundsArg));
    console.log(
      `${checkouts} (${windowCount} window(s)): µs per decision ${results.map((us) => us.toFixed(2)).join(' ')}`,
    );
  } else {
    const node = await RedisNode.start();
    try {
      for (let repetition = 0; repetition < 2; repetition++) {
        for (const root of checkouts.split(',')) {
          const args = ['--import', 'tsx', __filename, root, windowCount, roundsArg];
          const env = { ...process.env, BENCH_DECISIONS_PORT: String(node.port) };
          process.stdout.write(execFileSync(process.execPath, args, { env, encoding: 'utf8' }));
        }
      }
    } finally {
      await node.stop();
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
