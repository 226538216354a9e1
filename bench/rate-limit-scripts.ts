// The rate-limit scripts alone on one Redis (issue 17): what each costs Redis per call, without HTTP or ioredis.
// Usage: npm run bench:rate-limit-scripts   (needs redis-server and redis-benchmark, from Debian's redis-tools)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WindowConfig } from '../lib/rate-limit/options';
import { slidingWindowLua } from '../lib/rate-limit/script';
import { RedisNode } from '../test/support/redis-node';

const CALLS = Number(process.env.BENCH_SCRIPT_CALLS ?? 200_000);
const HUGE = 1_000_000_000;

/** rate-limiter-flexible's own script, read from the installed package (the peer row of the HTTP bench). */
function peerScript(): string {
  const source = readFileSync(
    join(require.resolve('rate-limiter-flexible'), '..', 'lib', 'RateLimiterRedis.js'),
    'utf8',
  );
  const script = /const incrTtlLuaScript = `([^`]+)`/.exec(source)?.[1];
  if (!script) throw new Error('rate-limiter-flexible: its Lua script was not found in RateLimiterRedis.js');
  return script.replace(/\\\n/g, '\n');
}

/** A window with the default 60 buckets and a limit no run reaches. */
function window(label: string, windowMs: number): WindowConfig {
  const bucketMs = windowMs / 60;
  return { label, keySuffix: label, windowMs, limit: HUGE, bucketMs, bucketCount: 60 };
}

interface Case {
  name: string;
  lua: string;
  /** Keys then arguments, as the middleware sends them. */
  keys: string[];
  args: string[];
}

const CASES: Case[] = [
  { name: 'rate-limiter-flexible, 1 fixed window', lua: peerScript(), keys: ['rlflx:bench'], args: ['1', '60'] },
  {
    name: 'rateLimit(), 1 sliding window',
    lua: slidingWindowLua([window('1m', 60_000)]),
    keys: ['rate:{ipbench|global}:1m'],
    args: ['1'],
  },
  {
    name: 'rateLimit(), 3 sliding windows',
    lua: slidingWindowLua([window('1m', 60_000), window('1h', 3_600_000), window('1d', 86_400_000)]),
    keys: ['rate:{ipbench|global}:1m', 'rate:{ipbench|global}:1h', 'rate:{ipbench|global}:1d'],
    args: ['1'],
  },
];

/** Redis process CPU seconds (user + system) from `INFO cpu`. */
async function cpuSeconds(node: RedisNode): Promise<number> {
  const cpu = await node.info('cpu');
  return Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys);
}

async function main(): Promise<void> {
  const node = await RedisNode.start();
  try {
    const rows: string[] = [];
    for (const round of [1, 2]) {
      for (const { name, lua, keys, args } of CASES) {
        const sha = String(await node.command('SCRIPT', 'LOAD', lua));
        await node.command('CONFIG', 'RESETSTAT');
        const before = await cpuSeconds(node);
        execFileSync(
          'redis-benchmark',
          [
            '-p',
            String(node.port),
            '-n',
            String(CALLS),
            '-c',
            '50',
            '-q',
            'EVALSHA',
            sha,
            String(keys.length),
            ...keys,
            ...args,
          ],
          { stdio: 'ignore' },
        );
        const cpu = ((await cpuSeconds(node)) - before) / CALLS;
        const stats = await node.info('commandstats');
        const script = Number(/usec_per_call=([\d.]+)/.exec(stats.cmdstat_evalsha ?? '')?.[1]);
        rows.push(`| ${name} | ${round} | ${script.toFixed(2)} | ${(cpu * 1e6).toFixed(1)} |`);
      }
    }
    console.log(`${CALLS} calls per case, 50 clients (redis-benchmark), keys as the middleware names them\n`);
    console.log('| script | round | EVALSHA µs/call (commandstats) | Redis process CPU µs/call |');
    console.log('| --- | ---: | ---: | ---: |');
    console.log(rows.join('\n'));
  } finally {
    await node.stop();
  }
}

main().catch((error: unknown) => {
  const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
  console.error(
    missing ? 'redis-benchmark was not found on the PATH: install it (Debian: apt-get install redis-tools)' : error,
  );
  process.exitCode = 1;
});
