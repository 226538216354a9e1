import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { type RateLimitOptions, rateLimit } from '../lib/rate-limit';
import { limitHeader } from '../lib/rate-limit/headers';
import type { RedisClient } from '../lib/redis';
import { type Standalone, sharedStandalone, waitFor } from './support';

/** A memory-backend limiter on GET /r with an injected clock, every request from one subject. */
function clockedApp(options: Omit<RateLimitOptions, 'clock' | 'key' | 'name'>, start: number) {
  const clock = { now: start };
  const subject = `h-${randomUUID()}`;
  const limiter = rateLimit({ ...options, name: 'h', key: () => subject, clock: () => clock.now });
  const app = express();
  app.get('/r', limiter, (_req, res) => {
    res.json({ ok: true });
  });
  return { app, clock };
}

/** The `t` (and `r`) of every item of a RateLimit field value, by policy name. */
function items(value: string | undefined): Record<string, { r: number; t: number }> {
  const out: Record<string, { r: number; t: number }> = {};
  for (const match of (value ?? '').matchAll(/"([^"]+)";r=(\d+);t=(\d+)/g)) {
    out[match[1] as string] = { r: Number(match[2]), t: Number(match[3]) };
  }
  return out;
}

describe('rateLimit() RateLimit headers', () => {
  describe('t for a fresh window', () => {
    it('should never exceed the window (w) while quota remains, at any instant inside a bucket', async () => {
      // 1d / 60 buckets = 24 min buckets; requests late in a bucket showed t = w + most of a bucket.
      for (const offset of [1, 600_000, 1_439_999]) {
        const { app } = clockedApp({ windows: { '1m': 100, '1h': 1000, '1d': 10_000 } }, 1_440_000 * 1000 + offset);
        const res = await request(app).get('/r').expect(200);
        const t = items(res.headers.ratelimit);
        expect(t['h-1m']?.t, `1m at +${offset}`).to.be.within(1, 60);
        expect(t['h-1h']?.t, `1h at +${offset}`).to.be.within(1, 3600);
        expect(t['h-1d']?.t, `1d at +${offset}`).to.be.within(1, 86_400);
      }
    });
  });

  describe('t for a partly used sliding window', () => {
    it('should be the time until the oldest counted request leaves the window (more quota), not until it is empty', async () => {
      const { app, clock } = clockedApp({ windows: { '1m': 3 } }, 60_000 * 1000 + 500);
      await request(app).get('/r').expect(200);
      clock.now += 10_000;
      await request(app).get('/r').expect(200);
      clock.now += 10_000;
      const last = await request(app).get('/r').expect(200);
      // The first request's 1 s bucket leaves the window 61 s after its start: 40.5 s from now.
      expect(items(last.headers.ratelimit)['h-1m']).to.deep.equal({ r: 0, t: 41 });
      clock.now += 1000;
      const rejected = await request(app).get('/r').expect(429);
      expect(items(rejected.headers.ratelimit)['h-1m']).to.deep.equal({ r: 0, t: 40 });
      // Retry-After does not point before the end of the effective window (draft § 6).
      expect(Number(rejected.headers['retry-after'])).to.equal(40);
      clock.now += 39_500;
      const again = await request(app).get('/r').expect(200);
      expect(items(again.headers.ratelimit)['h-1m']).to.deep.equal({ r: 0, t: 10 });
    });

    it('should exceed the window only when no quota is left, by at most one bucket (the error bound)', async () => {
      const { app } = clockedApp({ windows: { '1d': 1 } }, 1_440_000 * 1000 + 1_000_000);
      const res = await request(app).get('/r').expect(200);
      const item = items(res.headers.ratelimit)['h-1d'];
      expect(item?.r).to.equal(0);
      // The request counts until its 24-min bucket leaves the window: w + (bucket end - now).
      expect(item?.t).to.equal(86_400 + 440);
    });
  });

  describe('t for an empty window', () => {
    it('should be the window: no more than the whole quota within w seconds', () => {
      const value = limitHeader([
        { window: '1h', windowMs: 3_600_000, limit: 10, consumedPoints: 0, remainingPoints: 10, msBeforeNext: 0 },
      ]);
      expect(items(value)['1h']).to.deep.equal({ r: 10, t: 3600 });
    });
  });

  describe('t on Redis', () => {
    let topology: Standalone;
    let redis: RedisClient;
    before(async () => {
      topology = await sharedStandalone();
      redis = topology.client();
    });

    /** Redis's clock as a bucket index of `size` ms. */
    async function bucketNow(size: number): Promise<number> {
      const [secondsPart, micros] = (await topology.node.command('TIME')) as [string, string];
      return Math.floor((Number(secondsPart) * 1000 + Math.floor(Number(micros) / 1000)) / size);
    }

    it('should move the oldest bucket (o) to the next non-empty one when the oldest leaves the window', async () => {
      // 1 s window of 10 buckets of 100 ms.
      const limiter = rateLimit({ redis, name: `o-${randomUUID()}`, windows: { '1s': 5 }, buckets: 10 });
      const app = express();
      app.get('/r', limiter, (_req, res) => {
        res.json(res.locals.rateLimit.windows[0]);
      });
      const key = limiter.keysOf('ip127.0.0.1')[0] as string;
      await request(app).get('/r').expect(200);
      const first = Number(await topology.node.command('HGET', key, 'o'));
      expect(await topology.node.command('HGET', key, String(first))).to.equal('1');
      await waitFor(async () => (await bucketNow(100)) >= first + 3, { what: 'three buckets later', intervalMs: 10 });
      const second = (await request(app).get('/r').expect(200)).body;
      expect(Number(await topology.node.command('HGET', key, 'o'))).to.equal(first);
      // Counted until the first request's bucket leaves: (first + 11) × 100 ms.
      expect(second.msBeforeNext).to.be.within(1, 800);
      const secondBucket = ((await topology.node.command('HKEYS', key)) as string[])
        .filter((f) => f !== 'n' && f !== 'o')
        .map(Number)
        .find((b) => b !== first) as number;
      await waitFor(async () => (await bucketNow(100)) >= first + 11, {
        what: 'the first bucket to leave',
        intervalMs: 10,
      });
      const third = (await request(app).get('/r').expect(200)).body;
      if ((await bucketNow(100)) < secondBucket + 11) {
        expect(Number(await topology.node.command('HGET', key, 'o'))).to.equal(secondBucket);
        expect(third.consumedPoints).to.equal(2);
        expect(third.msBeforeNext).to.be.within(1, 1100);
      }
      expect(await topology.node.command('HEXISTS', key, String(first))).to.equal(0);
    });

    it('should never exceed w while quota remains, and match the memory twin for a used-up window', async () => {
      const app = express();
      const limiter = rateLimit({ redis, name: `t-${randomUUID()}`, windows: { '1m': 2, '1d': 10_000 } });
      const handler: RequestHandler = (_req, res) => {
        res.json({ ok: true });
      };
      app.get('/r', limiter, handler);
      const first = items((await request(app).get('/r').expect(200)).headers.ratelimit);
      expect(first[Object.keys(first).find((k) => k.endsWith('1d')) as string]?.t).to.be.within(1, 86_400);
      const second = items((await request(app).get('/r').expect(200)).headers.ratelimit);
      const minute = second[Object.keys(second).find((k) => k.endsWith('1m')) as string];
      expect(minute?.r).to.equal(0);
      const rejected = await request(app).get('/r').expect(429);
      const rejectedMinute = items(rejected.headers.ratelimit)[
        Object.keys(second).find((k) => k.endsWith('1m')) as string
      ];
      expect(rejectedMinute?.t).to.be.within(60, 61);
      expect(Number(rejected.headers['retry-after'])).to.be.at.least(rejectedMinute?.t as number);
    });
  });

  describe('with two limiters on one request (a global one and a route one)', () => {
    function twoLimiters(globalLimit: number, routeLimit: number, legacyHeaders = false) {
      const subject = `two-${randomUUID()}`;
      const app = express();
      app.use(
        rateLimit({ name: 'global', windows: { '1m': globalLimit, '1h': 100 }, key: () => subject, legacyHeaders }),
      );
      app.get(
        '/r/:id',
        rateLimit({ windows: { '1m': routeLimit }, key: () => subject, legacyHeaders }),
        (_req, res) => {
          res.json({ ok: true });
        },
      );
      app.get('/other', (_req, res) => {
        res.json({ ok: true });
      });
      return app;
    }

    it('should list both policies, each item named after its limiter, outer first', async () => {
      const res = await request(twoLimiters(5, 2)).get('/r/1').expect(200);
      expect(res.headers['ratelimit-policy']).to.equal(
        '"global-1m";q=5;w=60, "global-1h";q=100;w=3600, "/r/:id-1m";q=2;w=60',
      );
      expect(Object.keys(items(res.headers.ratelimit))).to.deep.equal(['global-1m', 'global-1h', '/r/:id-1m']);
      expect(items(res.headers.ratelimit)['global-1m']?.r).to.equal(4);
      expect(items(res.headers.ratelimit)['/r/:id-1m']?.r).to.equal(1);
    });

    it("should keep Retry-After from the limiter that rejected, with both limiters' items", async () => {
      const app = twoLimiters(5, 1);
      await request(app).get('/r/1').expect(200);
      const byRoute = await request(app).get('/r/1').expect(429);
      expect(items(byRoute.headers.ratelimit)['/r/:id-1m']?.r).to.equal(0);
      expect(items(byRoute.headers.ratelimit)['global-1m']?.r).to.equal(3);
      expect(Number(byRoute.headers['retry-after'])).to.be.within(59, 61);

      const app2 = twoLimiters(1, 5);
      await request(app2).get('/r/1').expect(200);
      const byGlobal = await request(app2).get('/r/1').expect(429);
      expect(byGlobal.headers['ratelimit-policy']).to.equal('"global-1m";q=1;w=60, "global-1h";q=100;w=3600');
      expect(Number(byGlobal.headers['retry-after'])).to.be.within(59, 61);
    });

    it('should send the legacy X-RateLimit-* headers of the tightest window across both limiters', async () => {
      const app = twoLimiters(5, 3, true);
      const res = await request(app).get('/r/1').expect(200);
      expect(res.headers['x-ratelimit-limit']).to.equal('3');
      expect(res.headers['x-ratelimit-remaining']).to.equal('2');
      const outerOnly = await request(twoLimiters(5, 100, true))
        .get('/r/1')
        .expect(200);
      expect(outerOnly.headers['x-ratelimit-limit']).to.equal('5');
      expect(outerOnly.headers['x-ratelimit-remaining']).to.equal('4');
    });

    it('should quote odd limiter names as structured-field strings', async () => {
      const app = express();
      app.get('/q', rateLimit({ name: 'caf\u00e9 "x"\\', windows: { '1m': 5 } }), (_req, res) => {
        res.json({ ok: true });
      });
      const res = await request(app).get('/q').expect(200);
      expect(res.headers['ratelimit-policy']).to.equal('"caf%C3%A9 \\"x\\"\\\\-1m";q=5;w=60');
    });
  });
});
