// One scenario measured: its own server process, warm-up, the timed autocannon run, CPU and Redis counters, a MONITOR probe.
import type { RedisNode } from '../../test/support/redis-node';
import type { Scenario } from '../scenarios';
import { login, probe } from './http';
import { runLoad } from './load';
import { processCpuSeconds, startServer } from './processes';
import { difference, monitorDuring, snapshot } from './redis-stats';

/** How the runs are sized (from the environment, see bench/run.ts). */
export interface RunSettings {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  probeRequests: number;
  /** Scenario ids whose server runs under `node --cpu-prof` (profiles in bench/profiles/). */
  profile: ReadonlySet<string>;
}

/** One scenario's numbers from one pass. */
export interface Measurement {
  id: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUs: number;
  redisCpuUs: number;
  /** Commands per request counted by INFO commandstats (Lua-internal calls included). */
  redisCalls: number;
  /** Commands per request the clients sent (MONITOR probe), by name. */
  sent: Record<string, number>;
  /** Calls per request made inside Lua scripts (MONITOR probe), by name. */
  inLua: Record<string, number>;
  errors: number;
  non2xx: number;
  requests: number;
}

const perRequest = (counts: Map<string, number>, n: number): Record<string, number> =>
  Object.fromEntries([...counts].map(([name, count]) => [name, count / n]));

export async function measure(scenario: Scenario, redis: RedisNode, settings: RunSettings): Promise<Measurement> {
  await redis.command('FLUSHALL');
  const flags = settings.profile.has(scenario.id)
    ? ['--cpu-prof', '--cpu-prof-dir', `bench/profiles/${scenario.id}`]
    : [];
  const server = await startServer(scenario.file, { REDIS_URL: redis.url, ...scenario.env }, flags);
  try {
    const headers: Record<string, string> = {};
    if (scenario.session) headers.Cookie = await login(server.port);
    const cannonHeaders = Object.entries(headers).map(([name, value]) => `${name}:${value}`);
    const url = `http://127.0.0.1:${server.port}/data`;
    await probe(server.port, '/data', headers, 1); // fills the caches, proves the route answers 200

    const warm = await runLoad(url, settings.warmupSeconds, settings.connections, cannonHeaders);
    if (warm.errors + warm.non2xx > 0) {
      throw new Error(`${scenario.id}: warm-up had ${warm.errors} errors and ${warm.non2xx} non-2xx responses`);
    }
    const redisBefore = await snapshot(redis);
    const cpuBefore = processCpuSeconds(server.pid);
    const load = await runLoad(url, settings.seconds, settings.connections, cannonHeaders);
    const cpuAfter = processCpuSeconds(server.pid);
    const redisAfter = await snapshot(redis);
    const used = difference(redisBefore, redisAfter);

    const counted = await monitorDuring(redis, () => probe(server.port, '/data', headers, settings.probeRequests));
    const n = Math.max(1, load.requests);
    return {
      id: scenario.id,
      rps: load.rps,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      serverCpuUs: ((cpuAfter - cpuBefore) * 1e6) / n,
      redisCpuUs: (used.cpuSeconds * 1e6) / n,
      redisCalls: used.calls / n,
      sent: perRequest(counted.sent, settings.probeRequests),
      inLua: perRequest(counted.inLua, settings.probeRequests),
      errors: load.errors + load.timeouts,
      non2xx: load.non2xx,
      requests: load.requests,
    };
  } finally {
    await server.stop();
  }
}

/** The mean of several passes of one scenario (counts of failures are summed). */
export function meanOf(runs: readonly Measurement[]): Measurement {
  const first = runs[0] as Measurement;
  const avg = (pick: (m: Measurement) => number) => runs.reduce((sum, m) => sum + pick(m), 0) / runs.length;
  const avgMap = (pick: (m: Measurement) => Record<string, number>) => {
    const names = new Set(runs.flatMap((m) => Object.keys(pick(m))));
    return Object.fromEntries([...names].map((name) => [name, avg((m) => pick(m)[name] ?? 0)]));
  };
  return {
    id: first.id,
    rps: avg((m) => m.rps),
    p50Ms: avg((m) => m.p50Ms),
    p99Ms: avg((m) => m.p99Ms),
    serverCpuUs: avg((m) => m.serverCpuUs),
    redisCpuUs: avg((m) => m.redisCpuUs),
    redisCalls: avg((m) => m.redisCalls),
    sent: avgMap((m) => m.sent),
    inLua: avgMap((m) => m.inLua),
    errors: runs.reduce((sum, m) => sum + m.errors, 0),
    non2xx: runs.reduce((sum, m) => sum + m.non2xx, 0),
    requests: runs.reduce((sum, m) => sum + m.requests, 0),
  };
}
