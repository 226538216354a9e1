// One fault under load: probes written before it, the fault, recovery, and every pass criterion checked after.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import { type MiddlewareEvent, onEvent } from '../../lib/common/events';
import type { RedisClient } from '../../lib/redis';
import { waitFor } from '../support';
import { Load, login, type Sample } from './load';
import { AI_LIMIT_PER_MINUTE, type Stack, startStack } from './stack';

/** Model delay of the stack: the handler's own time of an AI miss. */
export const MODEL_DELAY_MS = 20;
/** Longest answer allowed: 1 s beyond the handler's own time (a correctness bound, not a benchmark). */
export const BOUND_MS = 1000 + MODEL_DELAY_MS;
/** Longest recovery allowed once the topology is back. */
export const RECOVERY_MS = 15_000;

/** The statuses each route may answer with while Redis fails, as the middlewares' docs say. */
const ALLOWED: Record<string, readonly number[]> = {
  // caches fail open; the global limiter decides from its insurance limiter (429 allowed, never for a store error)
  'GET /recipes': [200, 429],
  'GET /recipes/:id': [200, 429],
  // for logged-in users only: 503 + Retry-After while the session store is unavailable
  'PUT /recipes/:id': [200, 429, 503],
  'POST /ai/suggest': [200, 429],
  // sessions.required(): 503 + Retry-After while the store is unavailable; a 401 would mean a lost session
  'GET /me': [200, 429, 503],
  'GET /health': [200, 429, 503],
};

/**
 * What the fault does; resolves when the topology has recovered (the moment recovery is measured from),
 * optionally with a clean-up (e.g. resume a frozen old primary) run after the recovery was measured.
 */
export type Fault = (during: Phase) => Promise<undefined | (() => Promise<void>)>;

/** Lets a fault wait for load to flow while it is in effect. */
export interface Phase {
  /** Resolves once `count` more requests were answered. */
  answered(count: number): Promise<void>;
  /** Base URL of the stack, for requests a fault needs on top of the load. */
  url: string;
}

export interface ScenarioOptions {
  redis: RedisClient;
  cacheRedis?: RedisClient;
  fault: Fault;
  /** Statuses that must be seen during the fault (proof it took effect), e.g. `{ 'GET /me': 503 }`. */
  expectDuring?: Record<string, number>;
  /** Redis errors the middlewares must have met during the fault (proof it reached them), e.g. `/^ReplyError: OOM/`. */
  expectRedisErrors?: RegExp;
  /** Rate-limit counts survive this fault (false only where the data is lost by design). @default true */
  limitsKept?: boolean;
}

export interface ScenarioReport {
  requests: number;
  /** Failed Redis calls of the middlewares during the fault, by the error's first words. */
  redisErrors: Record<string, number>;
  byStatus: Record<string, number>;
  maxMs: number;
  /** The three slowest answers. */
  slowest: string[];
  recoveryMs: number;
}

interface Probes {
  users: Array<{ username: string; cookie: string }>;
  rateIp: string;
  rateConsumedAt: number;
  recipeId: number;
  title: string;
}

let ipSeq = Math.floor(Math.random() * 60_000);
/** A client IP no other probe used. */
export function freshIp(): string {
  ipSeq++;
  return `10.${100 + ((ipSeq >> 16) & 63)}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`;
}

const CONSUMED = 4;

async function call(url: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

function suggest(ip: string): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ ingredients: ['probe', 'rice'] }),
  };
}

/** Written before the fault: sessions, a partly used rate limit, and an invalidated cache entry. */
async function writeProbes(stack: Stack): Promise<Probes> {
  const users = await Promise.all(
    Array.from({ length: 5 }, async (_, i) => {
      const username = `probe-${i}-${randomUUID().slice(0, 6)}`;
      return { username, cookie: await login(stack.url, username, freshIp()) };
    }),
  );
  const rateIp = freshIp();
  const rateConsumedAt = Date.now();
  for (let i = 0; i < CONSUMED; i++)
    expect((await call(stack.url, '/ai/suggest', suggest(rateIp))).status).to.equal(200);

  // Cache an item and a list page, then update the recipe: both must be invalidated, now and after the fault.
  const recipeId = 5;
  const ip = { 'x-forwarded-for': freshIp() };
  for (let i = 0; i < 2; i++) {
    await call(stack.url, `/recipes/${recipeId}`, { headers: ip });
    await call(stack.url, '/recipes?cuisine=italian&page=1', { headers: ip });
  }
  const title = `Probe ${randomUUID().slice(0, 8)}`;
  const put = await call(stack.url, `/recipes/${recipeId}`, {
    method: 'PUT',
    headers: { ...ip, 'content-type': 'application/json', cookie: (users[0] as { cookie: string }).cookie },
    body: JSON.stringify({ title }),
  });
  expect(put.status).to.equal(200);
  await expectUpdated(stack, recipeId, title);
  return { users, rateIp, rateConsumedAt, recipeId, title };
}

async function expectUpdated(stack: Stack, id: number, title: string): Promise<void> {
  const headers = { 'x-forwarded-for': freshIp() };
  const item = await call(stack.url, `/recipes/${id}`, { headers });
  expect(item.status).to.equal(200);
  expect((item.body as { recipe: { title: string } }).recipe.title, 'item served after invalidation').to.equal(title);
  const list = await call(stack.url, '/recipes?cuisine=italian&page=1', { headers });
  expect(list.status).to.equal(200);
  const titles = (list.body as { recipes: Array<{ id: number; title: string }> }).recipes.map((r) => r.title);
  expect(titles, 'list served after invalidation').to.include(title);
}

/** Status counts of N concurrent AI calls from one IP. */
async function burst(stack: Stack, ip: string, n: number): Promise<{ passed: number; limited: number }> {
  const statuses = await Promise.all(
    Array.from({ length: n }, async () => (await call(stack.url, '/ai/suggest', suggest(ip))).status),
  );
  const other = statuses.filter((s) => s !== 200 && s !== 429);
  expect(other, 'burst statuses').to.deep.equal([]);
  return { passed: statuses.filter((s) => s === 200).length, limited: statuses.filter((s) => s === 429).length };
}

/** Resolves with how long the stack took, from `since`, to serve every probe from Redis again. */
async function awaitRecovery(stack: Stack, probes: Probes, since: number): Promise<number> {
  const deadline = since + RECOVERY_MS + 5000;
  let lastState = '';
  for (;;) {
    lastState = await probeState(stack, probes);
    if (lastState === 'ok') return Date.now() - since;
    // A lost session is a verdict, not something to wait out.
    if (lastState.includes(' 401')) throw new Error(`a session written before the fault was lost: ${lastState}`);
    if (Date.now() > deadline) throw new Error(`the stack did not recover within ${deadline - since} ms: ${lastState}`);
    await delay(100);
  }
}

/** 'ok' when /health and every probe session answer 200; else what did not. */
async function probeState(stack: Stack, probes: Probes): Promise<string> {
  const health = await call(stack.url, '/health', { headers: { 'x-forwarded-for': freshIp() } });
  if (health.status !== 200) return `GET /health ${health.status}`;
  for (const user of probes.users) {
    const me = await call(stack.url, '/me', { headers: { cookie: user.cookie, 'x-forwarded-for': freshIp() } });
    if (me.status !== 200) return `GET /me of ${user.username} ${me.status}`;
    expect((me.body as { user: { username: string } }).user.username).to.equal(user.username);
  }
  return 'ok';
}

function countStatuses(samples: Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) {
    const key = `${s.route} ${s.status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Process-level failures while a scenario runs. */
function watchProcess(): { failures: unknown[]; stop(): void } {
  const failures: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    failures.push(reason);
  };
  const onException = (error: unknown): void => {
    failures.push(error);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    failures,
    stop: () => {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

/**
 * Runs the stack under steady load, writes the probes, applies the fault, waits for recovery and checks
 * every pass criterion of the issue. Returns what it measured (for the test's log line).
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const watch = watchProcess();
  const stack = await startStack({
    redis: options.redis,
    ...(options.cacheRedis ? { cacheRedis: options.cacheRedis } : {}),
    modelDelayMs: MODEL_DELAY_MS,
  });
  let load: Load | undefined;
  try {
    const cookies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(stack.url, `load-${i}-${randomUUID().slice(0, 6)}`, freshIp())),
    );
    load = new Load({ url: stack.url, cookies });
    const running = load;
    const answered = (count: number): Promise<void> => {
      const target = running.samples.length + count;
      return waitFor(() => running.samples.length >= target, {
        what: `${count} more answered requests`,
        timeoutMs: 30_000,
      }).then(() => undefined);
    };
    const probes = await writeProbes(stack);
    // Sessions must be older than a second when the fault strikes (replication and AOF fsync need that long).
    await answered(50);
    await waitFor(() => Date.now() - probes.rateConsumedAt > 1100, { what: 'the probes to be a second old' });

    const faultStart = Date.now();
    const redisErrors: Record<string, number> = {};
    const stopListening = onEvent((event: MiddlewareEvent) => {
      if (event.kind !== 'redis' || event.error === undefined) return;
      const kind = event.error.split(/\s+/).slice(0, 3).join(' ');
      redisErrors[kind] = (redisErrors[kind] ?? 0) + 1;
    });
    const cleanUp = await options.fault({ answered, url: stack.url });
    const recovered = Date.now();
    stopListening();
    const recoveryMs = await awaitRecovery(stack, probes, recovered);
    await answered(40);
    if (cleanUp) {
      await cleanUp();
      await awaitRecovery(stack, probes, Date.now());
      await answered(40);
    }
    await load.stop();

    // 1. every request answered, in time, with a documented status
    const samples = load.samples;
    const failed = samples.filter((s) => s.status === 0);
    expect(failed, 'requests without an answer').to.deep.equal([]);
    const slow = samples.filter((s) => s.ms > BOUND_MS);
    expect(
      slow.map((s) => `${s.route} ${s.status} ${s.ms} ms`),
      `answers slower than ${BOUND_MS} ms`,
    ).to.deep.equal([]);
    const wrong = samples.filter((s) => !(ALLOWED[s.route] ?? []).includes(s.status));
    expect(
      wrong.map((s) => `${s.route} ${s.status}`),
      'undocumented statuses',
    ).to.deep.equal([]);
    expect(stack.errors.map(String), 'errors that reached the error handler').to.deep.equal([]);
    const during = countStatuses(samples.filter((s) => s.at >= faultStart && s.at <= recovered));
    for (const [route, status] of Object.entries(options.expectDuring ?? {})) {
      expect(
        during[`${route} ${status}`] ?? 0,
        `${route} ${status} during the fault (${JSON.stringify(during)})`,
      ).to.be.above(0);
    }
    if (options.expectRedisErrors) {
      const met = Object.keys(redisErrors).filter((kind) => options.expectRedisErrors?.test(kind));
      expect(met, `Redis errors met during the fault (${JSON.stringify(redisErrors)})`).not.to.deep.equal([]);
    }
    // 2. recovery
    expect(recoveryMs, 'recovery time after the topology recovered').to.be.below(RECOVERY_MS);
    // 3. nothing lost: sessions (checked in awaitRecovery), exact limits, no invalidated entry served
    expect(Date.now() - probes.rateConsumedAt, 'the rate probe is still inside its 1-minute window').to.be.below(
      55_000,
    );
    const kept = options.limitsKept ?? true;
    const left = AI_LIMIT_PER_MINUTE - (kept ? CONSUMED : 0);
    expect(await burst(stack, probes.rateIp, AI_LIMIT_PER_MINUTE), 'the probe IP after the fault').to.deep.equal({
      passed: left,
      limited: AI_LIMIT_PER_MINUTE - left,
    });
    expect(await burst(stack, freshIp(), AI_LIMIT_PER_MINUTE + 5), 'a fresh IP after the fault').to.deep.equal({
      passed: AI_LIMIT_PER_MINUTE,
      limited: 5,
    });
    await expectUpdated(stack, probes.recipeId, probes.title);
    expect(watch.failures.map(String), 'unhandled rejections or exceptions').to.deep.equal([]);

    return {
      requests: samples.length,
      redisErrors,
      byStatus: countStatuses(samples),
      maxMs: Math.max(...samples.map((s) => s.ms)),
      slowest: [...samples]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 3)
        .map((s) => `${s.route} ${s.status} ${s.ms}ms`),
      recoveryMs,
    };
  } finally {
    await load?.stop();
    await stack.close();
    watch.stop();
  }
}

/** One line per scenario in the test output: what it measured. */
export function logReport(name: string, report: ScenarioReport): void {
  const statuses = Object.entries(report.byStatus)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  console.log(
    `      [${name}] ${report.requests} requests, slowest ${report.slowest.join(', ')}, recovered in ${report.recoveryMs} ms; ${statuses}; Redis errors ${JSON.stringify(report.redisErrors)}`,
  );
}
