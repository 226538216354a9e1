// `npm run bench`: its own Redis, every HTTP scenario in its own server process under autocannon, the micro benchmarks, RESULTS.md.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisNode } from '../test/support/redis-node';
import { bentocacheInstalled } from './bentocache/bento';
import { load, machineText } from './harness/machine';
import { type Measurement, meanOf, measure, type RunSettings } from './harness/measure';
import { killAll, runScript } from './harness/processes';
import { profileSummaries } from './harness/profiles';
import { type HttpRow, httpTable, microTable } from './harness/report';
import type { MicroRow, StorageRow } from './micro';
import { RATE_LIMIT_GROUP, RATE_LIMIT_PROFILED, SCENARIOS } from './scenarios';

const env = (name: string, fallback: number) => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new TypeError(`${name} must be a positive number; received ${value}`);
  return n;
};

const seconds = env('BENCH_DURATION', 10);
const settings: RunSettings = {
  seconds,
  warmupSeconds: env('BENCH_WARMUP', Math.max(1, Math.min(3, Math.round(seconds / 3)))),
  connections: env('BENCH_CONNECTIONS', 50),
  probeRequests: 200,
  profile: new Set((process.env.BENCH_PROFILE ?? '').split(',').filter(Boolean)),
};
// BENCH_GROUP=rate-limit (npm run bench:rate-limit): the limiter rows, two passes, profiles, its own RESULTS.md part.
const rateLimitGroup = process.env.BENCH_GROUP === 'rate-limit';
if (process.env.BENCH_GROUP !== undefined && !rateLimitGroup) {
  throw new TypeError(`BENCH_GROUP must be rate-limit; received ${process.env.BENCH_GROUP}`);
}
const passes = env('BENCH_PASSES', rateLimitGroup ? 2 : 1);
const only: string[] = rateLimitGroup
  ? [...RATE_LIMIT_GROUP]
  : (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const micro = !rateLimitGroup && process.env.BENCH_MICRO !== '0';
const full = only.length === 0 && micro;
const RESULTS = join(__dirname, 'RESULTS.md');

function ensureBentocache(): void {
  if (bentocacheInstalled() || process.env.BENCH_NO_INSTALL === '1') return;
  console.log('installing bentocache (+ ioredis 5) into bench/bentocache/node_modules …');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(
    npm,
    ['ci', '--prefix', join(__dirname, 'bentocache'), '--ignore-scripts', '--no-audit', '--no-fund'],
    { stdio: 'inherit', timeout: 180_000 },
  );
  if (res.status !== 0) console.log('bentocache could not be installed; its scenarios are skipped');
}

async function main(): Promise<void> {
  ensureBentocache();
  const scenarios = SCENARIOS.filter(
    (s) => only.length === 0 || only.includes(s.id) || s.id === 'bare' || s.id === 'bare-last',
  );
  const skipped = scenarios.flatMap((s) => {
    const why = s.unavailable?.();
    return why ? [`- ${s.title}: skipped, ${why}`] : [];
  });
  const runnable = scenarios.filter((s) => !s.unavailable?.());
  const loadBefore = load();
  console.log(
    `bench: ${runnable.length} scenarios × ${passes} pass(es), ${settings.seconds} s each, load ${loadBefore}`,
  );

  const redis = await RedisNode.start();
  const runs = new Map<string, Measurement[]>();
  const ratios = new Map<string, number[]>();
  let microText = '';
  try {
    for (let pass = 1; pass <= passes; pass++) {
      const thisPass = new Map<string, Measurement>();
      for (const scenario of runnable) {
        const m = await measure(scenario, redis, settings);
        thisPass.set(scenario.id, m);
        runs.set(scenario.id, [...(runs.get(scenario.id) ?? []), m]);
        console.log(
          `  pass ${pass} ${scenario.id.padEnd(22)} ${m.rps.toFixed(0).padStart(6)} req/s  p99 ${m.p99Ms.toFixed(1)} ms  ` +
            `cpu ${m.serverCpuUs.toFixed(0)} µs/req  errors ${m.errors} non-2xx ${m.non2xx}`,
        );
      }
      const bare = ['bare', 'bare-last'].map((id) => thisPass.get(id)?.rps ?? 0).filter((n) => n > 0);
      const bareMean = bare.reduce((a, b) => a + b, 0) / bare.length;
      for (const [id, m] of thisPass) ratios.set(id, [...(ratios.get(id) ?? []), m.rps / bareMean]);
    }
    if (micro) {
      console.log('micro benchmarks …');
      const out = await runScript(
        'micro/index.ts',
        { REDIS_URL: redis.url, BENCH_MICRO_MS: String(env('BENCH_MICRO_MS', 2000)) },
        600_000,
      );
      const line = out.split('\n').find((l) => l.startsWith('MICRO '));
      if (!line) throw new Error(`micro benchmarks printed no result:\n${out}`);
      const { results, storage } = JSON.parse(line.slice(6)) as { results: MicroRow[]; storage: StorageRow[] };
      microText = microTable(results, storage);
    }
    if (rateLimitGroup) {
      console.log('profiled runs (not reported above) …');
      const profiled = runnable.filter((s) => (RATE_LIMIT_PROFILED as readonly string[]).includes(s.id));
      microText = await profileSummaries(profiled, redis, settings, (id) => meanOf(runs.get(id) ?? []));
    }
  } finally {
    killAll();
    await redis.stop();
  }

  const rows: HttpRow[] = runnable.map((scenario) => {
    const r = ratios.get(scenario.id) ?? [];
    return {
      scenario,
      mean: meanOf(runs.get(scenario.id) ?? []),
      ratio: r.reduce((a, b) => a + b, 0) / r.length,
      ratios: r,
      passes: runs.get(scenario.id) ?? [],
    };
  });
  const failures = rows.filter((row) => row.mean.errors + row.mean.non2xx > 0);
  const text = [
    `Run: \`npm run ${rateLimitGroup ? 'bench:rate-limit' : 'bench'}\` — ${passes} pass(es), ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ` +
      `${settings.seconds} s per scenario; load average before ${loadBefore}, after ${load()} (1/5/15 min).`,
    '',
    machineText(),
    '',
    '### HTTP scenarios (ratio = req/s ÷ mean of the two bare-Express runs of the same pass; ours in bold)',
    '',
    httpTable(rows),
    ...(skipped.length ? ['', ...skipped] : []),
    ...(microText && !rateLimitGroup
      ? ['', '### Micro benchmarks (in-process, one Redis connection with auto-pipelining)', '', microText]
      : []),
    ...(microText && rateLimitGroup
      ? ['', '### Profiles (one more run each under `node --cpu-prof`, scaled to the µs/req above)', '', microText]
      : []),
  ].join('\n');
  console.log(`\n${text}\n`);
  if (full) writeResults(text, 'npm run bench');
  else if (rateLimitGroup) writeResults(text, 'npm run bench:rate-limit');
  else console.log('(partial run: bench/RESULTS.md left as it was)');
  if (failures.length) {
    console.error(`errors or non-2xx responses in: ${failures.map((f) => f.scenario.id).join(', ')}`);
    process.exitCode = 1;
  }
}

/** Replaces a generated part of RESULTS.md (one per command), keeping the hand-written analysis around it. */
function writeResults(generated: string, command: string): void {
  const START = `<!-- generated by ${command}: start -->`;
  const END = `<!-- generated by ${command}: end -->`;
  const old = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : `# Benchmark results\n\n${START}\n${END}\n`;
  const at = old.indexOf(START);
  const end = old.indexOf(END);
  const body =
    at >= 0 && end > at
      ? `${old.slice(0, at)}${START}\n${generated}\n${old.slice(end)}`
      : `${old}\n${START}\n${generated}\n${END}\n`;
  writeFileSync(RESULTS, body);
  console.log(`wrote ${RESULTS}`);
}

process.once('exit', killAll);
main().catch((error: unknown) => {
  console.error(error);
  killAll();
  process.exit(1);
});
