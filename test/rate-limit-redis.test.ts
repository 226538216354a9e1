import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { expect } from 'chai';
import calculateSlot from 'cluster-key-slot';
import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import { type RateLimitOptions, rateLimit } from '../lib/rate-limit';
import type { RedisClient } from '../lib/redis';
import { Standalone, sharedCluster, sharedSentinel, sharedStandalone, type Topology, waitFor } from './support';

/** An app with the limiter on `/r/:id`; the response tells where the decision came from. */
function createApp(limiter: RequestHandler) {
  const app = express();
  app.get('/r/:id', limiter, (_req, res) => {
    res.json({ source: res.locals.rateLimit?.source });
  });
  return app;
}

/** Starts one app-instance process (test/fixtures/rate-limit-server.ts); resolves with its port. */
async function startInstance(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'rate-limit-server.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n')[0];
      if (output.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`instance exited with ${code}`)));
  });
  return { child, port };
}

/** One GET on its own socket from `agent`; resolves with the status and body. */
function get(port: number, path: string, agent: Agent, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode as number, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `cmdstat_*` call counts of a node, without the harness's own INFO/CONFIG. */
async function commandCalls(topology: Standalone): Promise<Record<string, number>> {
  const stats = await topology.node.info('commandstats');
  const calls: Record<string, number> = {};
  for (const [field, value] of Object.entries(stats)) {
    const name = field.replace(/^cmdstat_/, '');
    if (name === field || name === 'info' || name.startsWith('config')) continue;
    calls[name] = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
  }
  return calls;
}

/** Commands the sliding-window script runs itself (counted by commandstats too). */
const SCRIPT_COMMANDS = ['hmget', 'hget', 'hset', 'hdel', 'hincrby', 'del', 'pexpire', 'pttl'];

function recordEvents() {
  const events: Array<Extract<MiddlewareEvent, { kind: 'limit' }>> = [];
  const stop = onEvent((event) => {
    if (event.kind === 'limit') events.push(event);
  });
  return { events, stop };
}

describe('rateLimit() on real Redis', () => {
  describe('exactness under concurrency', function () {
    this.timeout(120_000);
    const instances: ChildProcess[] = [];
    const ports: number[] = [];
    const name = `exact-${randomUUID()}`;
    const limit = 137;

    before(async () => {
      const topology = await sharedStandalone();
      for (let i = 0; i < 2; i++) {
        const { child, port } = await startInstance({
          REDIS_URL: topology.url,
          LIMITER_NAME: name,
          LIMIT: String(limit),
        });
        instances.push(child);
        ports.push(port);
      }
    });
    after(() => {
      for (const child of instances) child.kill('SIGTERM');
    });

    for (const window of ['1m', '1h', '1d']) {
      it(`should let exactly N of 1000 concurrent requests through two instances pass (${window} window)`, async () => {
        const agents = ports.map(() => new Agent({ keepAlive: true, maxSockets: 64 }));
        const subject = randomUUID();
        try {
          const results = await Promise.all(
            Array.from({ length: 1000 }, (_, i) =>
              get(ports[i % 2] as number, `/${window}`, agents[i % 2] as Agent, { 'x-subject': subject }),
            ),
          );
          const passed = results.filter((r) => r.status === 200);
          expect(passed).to.have.length(limit);
          expect(results.filter((r) => r.status === 429)).to.have.length(1000 - limit);
          // Every pass was decided by Redis, not by a failure policy.
          expect(new Set(passed.map((r) => (JSON.parse(r.body) as { source: string }).source))).to.deep.equal(
            new Set(['redis']),
          );
        } finally {
          for (const agent of agents) agent.destroy();
        }
      });
    }
  });

  describe('boundary adversary (Redis clock)', () => {
    it('should let at most N through when N arrive just before and N just after a 1 s boundary', async () => {
      const topology = await sharedStandalone();
      const redis = topology.client();
      const limit = 5;
      const limiter = rateLimit({
        redis,
        name: `boundary-${randomUUID()}`,
        windows: { '1s': limit },
        blockInMemory: false,
      });
      const app = createApp(limiter);
      const msOfSecond = async () => {
        const [, micros] = (await topology.node.command('TIME')) as [string, string];
        return Math.floor(Number(micros) / 1000);
      };
      await waitFor(async () => (await msOfSecond()) >= 850 && (await msOfSecond()) < 900, {
        what: 'Redis time just before a whole second',
        intervalMs: 5,
      });
      const before = await Promise.all(Array.from({ length: limit }, () => request(app).get('/r/1')));
      await waitFor(async () => (await msOfSecond()) < 500, { what: 'the boundary to pass', intervalMs: 5 });
      const after = await Promise.all(Array.from({ length: limit }, () => request(app).get('/r/1')));
      const passed = [...before, ...after].filter((r) => r.status === 200).length;
      expect(passed).to.equal(limit);
    });
  });

  describe('boundary burst (limit 20 per 2 s, Redis clock)', () => {
    // 1 request, ~1.95 s later 19, 0.1 s later 20: a fixed window lets 1 + 19 + 20 = 40 through within
    // about 2 s (rate-limiter-flexible does); a sliding window lets at most 20 through in any 2 s.
    const cases: Array<[string, Record<string, number>]> = [
      ['1 window', { '2s': 20 }],
      ['3 windows', { '2s': 20, '3s': 25, '1h': 1000 }],
    ];
    for (const [what, windows] of cases) {
      it(`should let at most 20 through in any 2 s across the boundary (${what})`, async function () {
        this.timeout(20_000);
        const topology = await sharedStandalone();
        const limiter = rateLimit({ redis: topology.client(), name: `burst-${randomUUID()}`, windows });
        const app = createApp(limiter);
        const redisMs = async () => {
          const [secondsText, micros] = (await topology.node.command('TIME')) as [string, string];
          return Number(secondsText) * 1000 + Math.floor(Number(micros) / 1000);
        };
        const burst = async (n: number) =>
          (await Promise.all(Array.from({ length: n }, () => request(app).get('/r/1')))).filter((r) => r.status === 200)
            .length;
        const first = await burst(1);
        const start = await redisMs();
        await waitFor(async () => (await redisMs()) >= start + 1950, { what: 'Redis time 1.95 s on', intervalMs: 5 });
        const second = await burst(19);
        const secondAt = await redisMs();
        await waitFor(async () => (await redisMs()) >= secondAt + 100, { what: 'Redis time 0.1 s on', intervalMs: 5 });
        const third = await burst(20);
        expect(first).to.equal(1);
        expect(second).to.equal(19);
        // The 19 and the third burst lie within one 2 s interval: together at most 20.
        expect(second + third).to.be.at.most(20);
      });
    }
  });

  const topologies: Array<[string, () => Promise<Topology>]> = [
    ['Redis Cluster', sharedCluster],
    ['Redis Sentinel', sharedSentinel],
  ];
  for (const [what, start] of topologies) {
    describe(`on ${what}`, function () {
      this.timeout(90_000);
      let redis: RedisClient;
      before(async () => {
        redis = (await start()).client();
      });

      it('should let exactly N of 300 concurrent requests pass, with every key in one slot and expiring', async () => {
        const name = `topology-${randomUUID()}`;
        const limiter = rateLimit({ redis, redisTimeout: '3s', name, windows: { '1m': 40, '1h': 100, '1d': 1000 } });
        const app = createApp(limiter);
        const results = await Promise.all(Array.from({ length: 300 }, () => request(app).get('/r/1')));
        expect(results.filter((r) => r.status === 200)).to.have.length(40);
        const keys = limiter.keysOf('ip127.0.0.1');
        expect(new Set(keys.map((key) => calculateSlot(key))).size).to.equal(1);
        for (const key of keys) expect(await redis.pttl(key)).to.be.above(0);
        expect((await limiter.get('ip127.0.0.1')).map((w) => w.consumedPoints)).to.deep.equal([40, 40, 40]);
      });
    });
  }

  describe('when Redis fails', function () {
    this.timeout(60_000);
    let topology: Standalone;
    let redis: RedisClient;
    const limiterFor = (options: Partial<RateLimitOptions>) =>
      rateLimit({ redis, redisTimeout: '300ms', name: `fault-${randomUUID()}`, windows: { '1m': 2 }, ...options });

    before(async () => {
      topology = await Standalone.start();
      redis = topology.client({ commandTimeout: '300ms' });
    });
    after(() => topology.stop());
    afterEach(async () => {
      topology.node.resume();
      if (!topology.node.isRunning) await topology.node.restart();
      await waitFor(async () => (await redis.ping()) === 'PONG', { what: 'the client to reconnect' });
      // The breaker stays open for 1 s after a failure; wait until a script call goes through again.
      const probe = limiterFor({ onRedisError: 'deny' });
      await waitFor(async () => (await request(createApp(probe)).get('/r/1')).status === 200, { what: 'Redis usable' });
    });

    it('should send exactly one Redis command (EVALSHA) per request', async () => {
      const app = createApp(limiterFor({ windows: { '1m': 100, '1h': 1000, '1d': 10000 } }));
      await request(app).get('/r/1').expect(200); // loads the script if needed
      await topology.node.command('CONFIG', 'RESETSTAT');
      for (let i = 0; i < 10; i++) await request(app).get('/r/1').expect(200);
      const { evalsha, time, ...insideScript } = await commandCalls(topology);
      expect(evalsha).to.equal(10);
      expect(time).to.equal(10); // each script run reads the clock once
      // Everything else the server counted ran inside those scripts.
      expect(Object.keys(insideScript)).to.satisfy((names: string[]) =>
        names.every((name) => SCRIPT_COMMANDS.includes(name)),
      );
    });

    it('should answer a client hammering its limit from memory, without Redis calls, until it may retry', async () => {
      const blocking = createApp(limiterFor({}));
      await request(blocking).get('/r/1').expect(200);
      await topology.node.command('CONFIG', 'RESETSTAT');
      for (let i = 0; i < 50; i++) await request(blocking).get('/r/1');
      expect((await commandCalls(topology)).evalsha).to.equal(2); // 1 allowed + 1 rejected, then blocked
      const notBlocking = createApp(limiterFor({ blockInMemory: false }));
      await topology.node.command('CONFIG', 'RESETSTAT');
      for (let i = 0; i < 50; i++) await request(notBlocking).get('/r/1');
      expect((await commandCalls(topology)).evalsha).to.equal(50);
    });

    it('should fall back to the insurance limiter while Redis is stopped, never hanging, never a 429 from the error', async () => {
      const { events, stop } = recordEvents();
      try {
        const app = createApp(limiterFor({}));
        await topology.node.kill();
        const first = await request(app).get('/r/1').timeout(3000).expect(200);
        expect(first.body.source).to.equal('insurance');
        expect(first.headers.ratelimit).to.match(/^"fault-[0-9a-f-]+-1m";r=1;t=\d+$/);
        await request(app).get('/r/1').timeout(3000).expect(200);
        const third = await request(app).get('/r/1').timeout(3000).expect(429);
        expect(Number(third.headers['retry-after'])).to.be.at.least(1);
        expect(events.map((e) => e.outcome)).to.include.members(['error', 'insurance']);
      } finally {
        stop();
      }
    });

    it('should bound the insurance limiter to insuranceKeys subjects while Redis is stopped (oldest forgotten)', async () => {
      const app = createApp(limiterFor({ insuranceKeys: 20, key: (req) => req.get('x-subject') }));
      await topology.node.kill();
      const as = (subject: string) => request(app).get('/r/1').set('x-subject', subject).timeout(3000);
      await as('first').expect(200);
      await as('first').expect(200);
      await as('first').expect(429);
      for (let i = 0; i < 20; i++) expect((await as(`other-${i}`)).body.source).to.equal('insurance');
      // 'first' was the least recently seen of 21 subjects: forgotten, so it starts again from zero.
      await as('first').expect(200);
    });

    it("should let requests through unlimited with onRedisError: 'allow', and answer 503 with 'deny'", async () => {
      const allow = createApp(limiterFor({ onRedisError: 'allow', windows: { '1m': 1 } }));
      const deny = createApp(limiterFor({ onRedisError: 'deny', windows: { '1m': 1 } }));
      await topology.node.kill();
      for (let i = 0; i < 3; i++) {
        const res = await request(allow).get('/r/1').timeout(3000).expect(200);
        expect(res.body.source).to.equal('allow');
      }
      const denied = await request(deny).get('/r/1').timeout(3000).expect(503);
      expect(denied.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(denied.headers['retry-after']).to.equal('1');
    });

    it('should decide within the time bound when Redis is frozen, and make no further calls while it is', async () => {
      const app = createApp(limiterFor({ windows: { '1m': 100 } }));
      await request(app).get('/r/1').expect(200);
      await topology.node.command('CONFIG', 'RESETSTAT');
      topology.node.freeze();
      const sources: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await request(app).get('/r/1').timeout(3000).expect(200);
        sources.push(res.body.source);
      }
      expect(new Set(sources)).to.deep.equal(new Set(['insurance']));
      topology.node.resume();
      // At most the first call reached the frozen server (the breaker stopped the others).
      expect((await commandCalls(topology)).evalsha ?? 0).to.be.at.most(1);
    });

    it('should reload the script after a restart and after SCRIPT FLUSH (NOSCRIPT)', async () => {
      const app = createApp(limiterFor({ windows: { '1m': 100 } }));
      expect((await request(app).get('/r/1').expect(200)).body.source).to.equal('redis');
      await topology.node.command('SCRIPT', 'FLUSH');
      expect((await request(app).get('/r/1').expect(200)).body.source).to.equal('redis');
      await topology.node.restart();
      await waitFor(async () => (await request(app).get('/r/1')).body.source === 'redis', {
        what: 'a Redis decision after the restart',
      });
    });
  });
});
