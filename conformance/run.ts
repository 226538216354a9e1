// `npm run conformance`: the vendored cache-tests suite against our proxy in ttl and 'response' modes, beside nginx and Varnish.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createRedis } from '../lib';
import type { ResponseCacheOptions } from '../lib/response-cache';
import { waitFor } from '../test/support/poll';
import { freePort } from '../test/support/ports';
import { RedisNode } from '../test/support/redis-node';
import { startProxy } from './proxy';
import { type Results, type Score, type Suite, scoreResults } from './score';

const run = promisify(execFile);
const SUITE = resolve(process.env.CACHE_TESTS_DIR ?? join(__dirname, '..', '..', 'shared', 'cache-tests'));
/** The floors `.ci/run` enforces (see `enforceFloors`). */
const floorArgs = process.argv.find((arg) => arg.startsWith('--floor='))?.slice('--floor='.length);

/** The proxy configurations under test. */
const MODES: Record<string, Omit<ResponseCacheOptions, 'redis'>> = {
  ttl: { ttl: '1d', statuses: [200, 203, 204, 300, 301, 404, 410], localTtl: 0 },
  response: { ttl: 'response', localTtl: 0 },
};

async function main(): Promise<void> {
  if (!existsSync(join(SUITE, 'tests', 'index.mjs'))) {
    throw new Error(`cache-tests not found at ${SUITE} (set CACHE_TESTS_DIR)`);
  }
  // The vendored copy is read-only: install its dependencies in a copy.
  const work = mkdtempSync(join(tmpdir(), 'rmw-cache-tests-'));
  try {
    cpSync(SUITE, work, { recursive: true, filter: (source) => !source.includes('node_modules') });
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: work });
    const scores = await runModes(work);
    // CONFORMANCE_RESULTS=<file>: the raw results of every mode, for reading why a test failed.
    if (process.env.CONFORMANCE_RESULTS)
      writeFileSync(process.env.CONFORMANCE_RESULTS, JSON.stringify(scores, null, 2));
    const published = (name: string): Results =>
      JSON.parse(readFileSync(join(work, 'results', `${name}.json`), 'utf8'));
    const suites = (await import(pathToFileURL(join(work, 'tests', 'index.mjs')).href)).default as Suite[];
    const scoring = await import(pathToFileURL(join(work, 'test-engine', 'lib', 'results.mjs')).href);
    const score = (results: Results): Score => scoreResults(suites, scoring, results);
    const columns: Array<[string, Score]> = [
      ...Object.entries(scores).map(([mode, results]): [string, Score] => [`ours ${mode}`, score(results)]),
      ['nginx', score(published('nginx'))],
      ['Varnish', score(published('varnish'))],
    ];
    printTable(suites, columns);
    if (floorArgs !== undefined) enforceFloors(floorArgs, columns);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs the suite once per mode against a fresh proxy on one throwaway Redis, with the suite's origin behind it. */
async function runModes(work: string): Promise<Record<string, Results>> {
  const node = await RedisNode.start();
  const originPort = await freePort();
  const origin = spawn(process.execPath, [join(work, 'test-engine', 'server', 'server.mjs')], {
    env: {
      ...process.env,
      npm_config_protocol: 'http',
      npm_config_port: String(originPort),
      npm_config_pidfile: join(work, 'origin.pid'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const results: Record<string, Results> = {};
  try {
    await listening(origin);
    for (const [mode, options] of Object.entries(MODES)) {
      await node.command('FLUSHALL');
      const redis = createRedis(node.url);
      const proxy = await startProxy(new URL(`http://127.0.0.1:${originPort}`), { ...options, redis });
      try {
        const { stdout } = await run(process.execPath, ['--no-warnings', join(work, 'test-engine', 'cli.mjs')], {
          cwd: work,
          env: { ...process.env, npm_config_base: proxy.url, npm_config_id: '', npm_package_config_id: '' },
          maxBuffer: 64 * 1024 * 1024,
        });
        results[mode] = JSON.parse(stdout.slice(stdout.indexOf('{'))) as Results;
      } finally {
        await proxy.close();
        redis.disconnect();
      }
    }
  } finally {
    origin.kill();
    await node.stop();
  }
  return results;
}

async function listening(child: ChildProcess): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitFor(() => output.includes('Listening on'), { timeoutMs: 10_000, what: 'the cache-tests origin' });
}

function printTable(suites: readonly Suite[], columns: ReadonlyArray<[string, Score]>): void {
  const rows: string[][] = [['file', 'required', ...columns.map(([name]) => name)]];
  for (const suite of suites) {
    const total = columns[0]?.[1].perSuite.get(suite.id)?.required ?? 0;
    if (total === 0) continue;
    rows.push([suite.id, String(total), ...columns.map(([, s]) => String(s.perSuite.get(suite.id)?.passed ?? 0))]);
  }
  const required = String(columns[0]?.[1].required ?? 0);
  rows.push(['total (each on its own)', required, ...columns.map(([, s]) => String(s.passed))]);
  rows.push(['total (dependencies honoured)', required, ...columns.map(([, s]) => String(s.passedWithDependencies))]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
}

/**
 * `--floor=ttl:144,response:146,response-deps:138`: fails when a mode passes fewer required tests than
 * its floor, each scored on its own (`<mode>`) or with dependencies honoured (`<mode>-deps`).
 */
function enforceFloors(spec: string, columns: ReadonlyArray<[string, Score]>): void {
  const failures: string[] = [];
  for (const item of spec.split(',')) {
    const [name = '', value = ''] = item.split(':');
    const mode = name.replace(/-deps$/, '');
    const score = columns.find(([column]) => column === `ours ${mode}`)?.[1];
    if (score === undefined || !/^\d+$/.test(value)) throw new TypeError(`--floor: cannot read "${item}"`);
    const passed = name.endsWith('-deps') ? score.passedWithDependencies : score.passed;
    if (passed < Number(value)) failures.push(`${name} passed ${passed}, below the floor of ${value}`);
  }
  if (failures.length > 0) {
    console.error(`conformance: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else console.log(`conformance: every floor met (${spec})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
