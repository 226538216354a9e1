import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import calculateSlot from 'cluster-key-slot';
import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import { resetWarnings } from '../lib/common/log';
import { ipGroup, type RateLimitMiddleware, type RateLimitOptions, rateLimit } from '../lib/rate-limit';
import type { RedisClient } from '../lib/redis';
import { type Standalone, sharedStandalone, waitFor } from './support';

/** An app with `before` middlewares, the limiter on `/r/:id` (route) or everywhere (`use`), and a counted handler. */
function createApp(
  limiter: RequestHandler,
  { use = false, trustProxy, before = [] as RequestHandler[] } = {} as {
    use?: boolean;
    trustProxy?: unknown;
    before?: RequestHandler[];
  },
) {
  const app = express();
  if (trustProxy !== undefined) app.set('trust proxy', trustProxy);
  for (const middleware of before) app.use(middleware);
  const handled = { count: 0 };
  const handler: RequestHandler = (_req, res) => {
    handled.count++;
    res.json({ ok: true, rateLimit: res.locals.rateLimit });
  };
  if (use) {
    app.use(limiter);
    app.get('/r/:id', handler);
  } else {
    app.get('/r/:id', limiter, handler);
  }
  app.use(((error, _req, res, _next) => {
    res.status(500).send(String((error as Error).message));
  }) as express.ErrorRequestHandler);
  return { app, handled };
}

/** A memory-backend limiter with an injected clock. */
function memoryLimiter(options: Omit<RateLimitOptions, 'clock'>, start = 1_000_000) {
  const clock = { now: start };
  const limiter = rateLimit({ ...options, name: options.name ?? `mem-${randomUUID()}`, clock: () => clock.now });
  return { limiter, clock };
}

/** Decides one request for `subject` through the middleware, without HTTP. */
async function decide(limiter: RateLimitMiddleware, subject = 'u1') {
  const req = { session: { user: { id: subject.slice(1) } }, baseUrl: '', app: { get: () => false } };
  const res = {
    locals: {} as Record<string, unknown>,
    headersSent: false,
    getHeader() {},
    setHeader() {},
    status() {},
    end() {
      done();
    },
  };
  let done: () => void = () => undefined;
  // The middleware is done when it calls next() (passed) or ends the response (rejected).
  await new Promise<void>((resolve) => {
    done = resolve;
    (limiter as unknown as (a: unknown, b: unknown, c: () => void) => void)(req, res, resolve);
  });
  return res.locals.rateLimit as { allowed: boolean; retryAfterMs: number; source: string };
}

function recordEvents() {
  const events: Array<Extract<MiddlewareEvent, { kind: 'limit' }>> = [];
  const stop = onEvent((event) => {
    if (event.kind === 'limit') events.push(event);
  });
  return { events, stop };
}

describe('rateLimit()', () => {
  before(() => resetWarnings());

  describe('options', () => {
    const bad: Array<[string, Partial<RateLimitOptions> | unknown, RegExp]> = [
      ['no options', undefined, /rateLimit\(\) takes one options object/],
      ['no windows', {}, /windows option is required/],
      ['an empty windows object', { windows: {} }, /windows option must name between 1 and 8 windows/],
      ['a window that is no duration', { windows: { soon: 5 } }, /windows\['soon'\] option must be a duration/],
      ['a limit of 0', { windows: { '1m': 0 } }, /windows\['1m'\] limit option must be a whole number of at least 1/],
      ['the same window twice', { windows: { '60s': 1, '1m': 2 } }, /the window 1m is given twice/],
      ['a list item without window', { windows: [{ limit: 5 }] }, /windows\[0\] option must be a duration/],
      ['a cost above the smallest limit', { windows: { '1m': 3 }, cost: 4 }, /cost option \(4\) must not exceed/],
      ['a cost that is a string', { windows: { '1m': 3 }, cost: '1' }, /cost option must be a whole number/],
      ['an unknown mode', { windows: { '1m': 3 }, mode: 'queue' }, /mode option must be one of 'reject', 'throttle'/],
      [
        'an unknown failure policy',
        { windows: { '1m': 3 }, onRedisError: 'ignore' },
        /onRedisError option must be one of 'insurance', 'allow', 'deny'/,
      ],
      ['an IPv6 prefix of 60', { windows: { '1m': 3 }, ipv6Prefix: 60 }, /ipv6Prefix option must be 48, 56 or 64/],
      ['0 buckets', { windows: { '1m': 3 }, buckets: 0 }, /buckets option must be a whole number of at least 1/],
      [
        '0 insurance keys',
        { windows: { '1m': 3 }, insuranceKeys: 0 },
        /insuranceKeys option must be a whole number of at least 1/,
      ],
      ['a key that is no function', { windows: { '1m': 3 }, key: 'ip' }, /key option must be a function/],
      ['a maxWait of "soon"', { windows: { '1m': 3 }, maxWait: 'soon' }, /maxWait option must be a duration/],
      ['a redis that is no client', { windows: { '1m': 3 }, redis: {} }, /redis option must be an ioredis/],
    ];
    for (const [what, options, message] of bad) {
      it(`should throw a TypeError for ${what}`, () => {
        expect(() => rateLimit(options as RateLimitOptions))
          .to.throw(TypeError)
          .with.property('message')
          .that.matches(message);
      });
    }

    it('should refuse an injected clock with a Redis client (Redis keeps its own time)', async () => {
      const redis = (await sharedStandalone()).client();
      expect(() => rateLimit({ redis, windows: { '1m': 1 }, clock: () => 0 })).to.throw(
        TypeError,
        /clock option applies to the memory backend only/,
      );
    });

    it('should accept windows as a list and as numbers of ms, labelled canonically', () => {
      const limiter = rateLimit({
        windows: [
          { window: 60_000, limit: 5 },
          { window: '2h', limit: 50 },
        ],
        name: 'x',
      });
      expect(limiter.keysOf('u1')).to.deep.equal(['rate:{u1|x}:1m', 'rate:{u1|x}:2h']);
    });
  });

  describe('sliding windows (memory backend, injected clock)', () => {
    it('should never let more than N through in any interval of the window, whatever the timing', async () => {
      const windowMs = 1000;
      const limit = 5;
      const { limiter, clock } = memoryLimiter({ windows: { [`${windowMs}ms`]: limit }, buckets: 10 });
      const accepted: number[] = [];
      let seed = 7;
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      for (let i = 0; i < 3000; i++) {
        clock.now += Math.floor(random() * 60);
        if ((await decide(limiter)).allowed) accepted.push(clock.now);
      }
      for (const start of accepted) {
        const inInterval = accepted.filter((t) => t >= start && t <= start + windowMs).length;
        expect(inInterval, `requests in [${start}, ${start + windowMs}]`).to.be.at.most(limit);
      }
      // And it is not a stingy limiter: close to N per window over the run.
      const span = (accepted.at(-1) as number) - (accepted[0] as number);
      expect(accepted.length).to.be.at.least(Math.floor((span / windowMs) * limit * 0.85));
    });

    it('should not allow 2N across a fixed-window boundary (N just before, N just after)', async () => {
      const { limiter, clock } = memoryLimiter({ windows: { '1m': 10 } }, 60_000 * 1000);
      clock.now += 59_900; // just before the boundary of a fixed minute
      let passed = 0;
      for (let i = 0; i < 10; i++) if ((await decide(limiter)).allowed) passed++;
      clock.now += 200; // just after it
      for (let i = 0; i < 10; i++) if ((await decide(limiter)).allowed) passed++;
      expect(passed).to.equal(10);
    });

    it('should reject early by at most one bucket: capacity returns within window + window/buckets', async () => {
      const { limiter, clock } = memoryLimiter({ windows: { '1m': 2 }, buckets: 60 }, 0);
      clock.now = 10_500;
      expect((await decide(limiter)).allowed).to.equal(true);
      expect((await decide(limiter)).allowed).to.equal(true);
      const rejected = await decide(limiter);
      expect(rejected.allowed).to.equal(false);
      expect(rejected.retryAfterMs).to.be.within(60_000 - 500, 61_000 - 500);
      clock.now += rejected.retryAfterMs - 1;
      expect((await decide(limiter)).allowed).to.equal(false);
      clock.now += 1;
      expect((await decide(limiter)).allowed).to.equal(true);
    });

    it('should check every window and count a request only when all have room', async () => {
      const { limiter, clock } = memoryLimiter({ windows: { '1s': 3, '10s': 5 } });
      for (let i = 0; i < 3; i++) expect((await decide(limiter)).allowed).to.equal(true);
      const byShort = await decide(limiter);
      expect(byShort.allowed).to.equal(false);
      expect(byShort.retryAfterMs).to.be.at.most(1100);
      clock.now += 1100;
      expect((await decide(limiter)).allowed).to.equal(true);
      expect((await decide(limiter)).allowed).to.equal(true);
      const byLong = await decide(limiter);
      expect(byLong.allowed).to.equal(false);
      expect(byLong.retryAfterMs).to.be.above(8000);
      // Rejections consumed nothing in either window.
      const [short, long] = await limiter.get('u1', limiter.endpointOf({} as never));
      expect(short?.consumedPoints).to.equal(2);
      expect(long?.consumedPoints).to.equal(5);
    });
  });

  describe('on Redis', () => {
    let topology: Standalone;
    let redis: RedisClient;
    before(async () => {
      topology = await sharedStandalone();
      redis = topology.client();
    });

    /** Every rate: key of a limiter name, by SCAN (test only). */
    async function keysOf(name: string): Promise<string[]> {
      const all: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = (await topology.node.command(
          'SCAN',
          cursor,
          'MATCH',
          `rate:*|${name}}*`,
          'COUNT',
          1000,
        )) as [string, string[]];
        all.push(...keys);
        cursor = next;
      } while (cursor !== '0');
      return all;
    }

    it('should let exactly the limit through, then answer 429 with Retry-After, RateLimit headers and a problem body', async () => {
      const name = `basic-${randomUUID()}`;
      const { app, handled } = createApp(rateLimit({ redis, name, windows: { '1m': 3, '1h': 10 } }));
      const first = await request(app).get('/r/1').expect(200);
      expect(first.headers['ratelimit-policy']).to.equal(`"${name}-1m";q=3;w=60, "${name}-1h";q=10;w=3600`);
      expect(first.headers.ratelimit).to.equal(`"${name}-1m";r=2;t=60, "${name}-1h";r=9;t=3600`);
      expect(first.headers['retry-after']).to.equal(undefined);
      expect(first.headers['x-ratelimit-limit']).to.equal(undefined);
      await request(app).get('/r/2').expect(200);
      await request(app).get('/r/3').expect(200);
      const rejected = await request(app).get('/r/4').expect(429);
      expect(rejected.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(rejected.body).to.include({ type: 'about:blank', title: 'Too Many Requests', status: 429 });
      expect(rejected.body.detail).to.include('3 per 1m');
      expect(Number(rejected.headers['retry-after'])).to.be.within(1, 61);
      expect(rejected.headers['retry-after']).to.match(/^\d+$/);
      expect(rejected.headers.ratelimit).to.match(
        new RegExp(`^"${name}-1m";r=0;t=(5\\d|60|61), "${name}-1h";r=7;t=3600$`),
      );
      expect(handled.count).to.equal(3);
    });

    it('should decide exactly like its memory twin for the same sequence of costs', async () => {
      const windows = { '1h': 10, '1d': 15 };
      const costs = [1, 3, 2, 5, 1, 4, 1, 1, 2, 1, 3, 1, 1, 1, 1];
      const onRedis = rateLimit({ redis, name: `twin-${randomUUID()}`, windows, cost: (req) => Number(req.params.id) });
      const inMemory = memoryLimiter({ windows, cost: (req) => Number(req.params.id) }).limiter;
      const outcomes = async (limiter: RateLimitMiddleware) => {
        const { app } = createApp(limiter);
        const statuses: number[] = [];
        for (const cost of costs) statuses.push((await request(app).get(`/r/${cost}`)).status);
        return statuses;
      };
      const redisOutcomes = await outcomes(onRedis);
      expect(redisOutcomes).to.deep.equal(await outcomes(inMemory));
      expect(redisOutcomes.filter((s) => s === 200)).to.have.length.above(3);
      expect((await onRedis.get('ip127.0.0.1')).map((w) => w.consumedPoints)).to.deep.equal(
        (await inMemory.get('ip127.0.0.1')).map((w) => w.consumedPoints),
      );
    });

    it('should count rejected requests nowhere', async () => {
      const name = `free-${randomUUID()}`;
      const limiter = rateLimit({ redis, name, windows: { '1m': 2, '1h': 100 }, blockInMemory: false });
      const { app } = createApp(limiter);
      for (let i = 0; i < 2; i++) await request(app).get('/r/1').expect(200);
      for (let i = 0; i < 10; i++) await request(app).get('/r/1').expect(429);
      const [minute, hour] = await limiter.get('ip127.0.0.1');
      expect(minute?.consumedPoints).to.equal(2);
      expect(hour?.consumedPoints).to.equal(2);
    });

    it('should set an expiry on every rate: key it writes', async () => {
      const name = `ttl-${randomUUID()}`;
      const limiter = rateLimit({
        redis,
        name,
        windows: { '1s': 2, '1m': 4, '1d': 100 },
        key: (req) => String(req.params.id),
      });
      const { app } = createApp(limiter);
      for (let i = 0; i < 30; i++) await request(app).get(`/r/${i % 5}`);
      const keys = await keysOf(name);
      expect(keys).to.have.length(15);
      for (const key of keys) expect(Number(await topology.node.command('PTTL', key)), key).to.be.above(0);
    });

    it('should bound a key in fields and bytes whatever the limit', async () => {
      const name = `mem-${randomUUID()}`;
      const limiter = rateLimit({ redis, name, windows: { '1s': 100_000 }, buckets: 10 });
      const { app } = createApp(limiter);
      await waitFor(
        async () => {
          await request(app).get('/r/1').expect(200);
          return Number(await topology.node.command('HLEN', limiter.keysOf('ip127.0.0.1')[0] as string)) >= 12;
        },
        { what: 'requests spread over every bucket', intervalMs: 20 },
      );
      const key = limiter.keysOf('ip127.0.0.1')[0] as string;
      expect(Number(await topology.node.command('HLEN', key))).to.be.at.most(10 + 1 + 2 + 1);
      expect(Number(await topology.node.command('MEMORY', 'USAGE', key))).to.be.below(400);
    });

    it('should keep hostile user ids and route names inside one hash tag, without collisions', async () => {
      const hostile = ['{}:*', '}{', 'a|b', '*', '[x]', 'white space', '%7B', ':1m', 'x'.repeat(500)];
      for (const [i, id] of hostile.entries()) {
        const limiter = rateLimit({ redis, name: `{evil}:*|${i}`, windows: { '1m': 1, '1h': 5 } });
        const keys = limiter.keysOf(`u${id}`, `{evil}:*|${i}`);
        for (const key of keys) expect(key.match(/[{}]/g), key).to.deep.equal(['{', '}']);
        expect(new Set(keys.map((key) => calculateSlot(key))).size).to.equal(1);
        const user: RequestHandler = (req, _res, next) => {
          (req as unknown as { session: unknown }).session = { user: { id } };
          next();
        };
        const { app } = createApp(limiter, { before: [user] });
        await request(app).get('/r/1').expect(200);
        await request(app).get('/r/1').expect(429);
        const [minute] = await limiter.get(`u${id}`, `{evil}:*|${i}`);
        expect(minute?.consumedPoints).to.equal(1);
      }
    });

    describe('subject', () => {
      it('should key by req.session.user.id when there is one', async () => {
        const name = `user-${randomUUID()}`;
        const limiter = rateLimit({ redis, name, windows: { '1m': 1 } });
        const login: RequestHandler = (req, _res, next) => {
          const id = req.get('x-user');
          if (id) (req as unknown as { session: unknown }).session = { user: { id } };
          next();
        };
        const { app } = createApp(limiter, { before: [login] });
        await request(app).get('/r/1').set('x-user', '42').expect(200);
        await request(app).get('/r/1').set('x-user', '42').expect(429);
        await request(app).get('/r/1').set('x-user', '43').expect(200);
        await request(app).get('/r/1').expect(200); // anonymous: by IP
        expect((await limiter.get('u42'))[0]?.consumedPoints).to.equal(1);
        expect((await limiter.get('ip127.0.0.1'))[0]?.consumedPoints).to.equal(1);
      });

      it('should give a spoofed X-Forwarded-For nothing when no proxy is trusted', async () => {
        const { app, handled } = createApp(rateLimit({ redis, name: `xff-${randomUUID()}`, windows: { '1m': 2 } }));
        for (let i = 0; i < 6; i++) await request(app).get('/r/1').set('X-Forwarded-For', `203.0.113.${i}`);
        expect(handled.count).to.equal(2);
      });

      it('should use the forwarded address when trust proxy says so, and warn once when it is true', async () => {
        const warnings: string[] = [];
        const original = console.warn;
        console.warn = (line: string) => warnings.push(line);
        try {
          const name = `tp-${randomUUID()}`;
          const { app, handled } = createApp(rateLimit({ redis, name, windows: { '1m': 1 } }), { trustProxy: true });
          for (let i = 0; i < 3; i++) await request(app).get('/r/1').set('X-Forwarded-For', `203.0.113.${i}`);
          expect(handled.count).to.equal(3);
          expect(warnings.filter((line) => line.includes('W_RATE_LIMIT_TRUST_PROXY'))).to.have.length(1);
        } finally {
          console.warn = original;
        }
      });

      it('should share one budget across addresses of one IPv6 /64 and unwrap IPv4-mapped addresses', async () => {
        const name = `v6-${randomUUID()}`;
        const limiter = rateLimit({ redis, name, windows: { '1m': 3 } });
        const { app } = createApp(limiter, { trustProxy: 'loopback' });
        const from = (ip: string) => request(app).get('/r/1').set('X-Forwarded-For', ip);
        await from('2001:db8:1:2::1').expect(200);
        await from('2001:db8:1:2:ffff:eeee:dddd:cccc').expect(200);
        await from('2001:db8:1:2:1234::9').expect(200);
        await from('2001:db8:1:2::abcd').expect(429);
        await from('2001:db8:1:3::1').expect(200); // the next /64
        await from('::ffff:198.51.100.7').expect(200);
        expect((await limiter.get('ip198.51.100.7'))[0]?.consumedPoints).to.equal(1);
        expect((await limiter.get('ip2001:db8:1:2::/64'))[0]?.consumedPoints).to.equal(3);
      });

      it('should group IPv6 by the configured prefix', () => {
        expect(ipGroup('2001:db8:aa:bbcc:1:2:3:4', 64)).to.equal('2001:db8:aa:bbcc::/64');
        expect(ipGroup('2001:db8:aa:bbcc:1:2:3:4', 56)).to.equal('2001:db8:aa:bb00::/56');
        expect(ipGroup('2001:db8:aa:bbcc::1', 48)).to.equal('2001:db8:aa::/48');
        expect(ipGroup('::1', 64)).to.equal('0:0:0:0::/64');
        expect(ipGroup('::ffff:c000:0201', 64)).to.equal('192.0.2.1');
        expect(ipGroup('fe80::1%eth0', 64)).to.equal('fe80:0:0:0::/64');
        expect(ipGroup('192.0.2.1', 64)).to.equal('192.0.2.1');
      });

      it('should use a custom key, falling back to the user or IP when it returns undefined', async () => {
        const name = `key-${randomUUID()}`;
        const limiter = rateLimit({ redis, name, windows: { '1m': 1 }, key: (req) => req.get('x-api-key') });
        const { app } = createApp(limiter);
        await request(app).get('/r/1').set('x-api-key', 'k1').expect(200);
        await request(app).get('/r/1').set('x-api-key', 'k1').expect(429);
        await request(app).get('/r/1').set('x-api-key', 'k2').expect(200);
        await request(app).get('/r/1').expect(200);
        expect((await limiter.get('k1'))[0]?.consumedPoints).to.equal(1);
      });
    });

    describe('endpoint', () => {
      it('should count a route by its pattern, never the raw URL', async () => {
        const limiter = rateLimit({ redis, windows: { '1m': 2 }, key: () => `route-${name}` });
        const name = randomUUID();
        const { app } = createApp(limiter);
        await request(app).get('/r/1').expect(200);
        await request(app).get('/r/2?x=1').expect(200);
        await request(app).get('/r/3').expect(429);
        expect((await limiter.get(`route-${name}`, '/r/:id'))[0]?.consumedPoints).to.equal(2);
      });

      it("should count under 'all' when mounted with app.use and no name", async () => {
        const name = randomUUID();
        const limiter = rateLimit({ redis, windows: { '1m': 5 }, key: () => `use-${name}` });
        const { app } = createApp(limiter, { use: true });
        await request(app).get('/r/1').expect(200);
        await request(app).get('/nowhere').expect(404);
        expect((await limiter.get(`use-${name}`, 'all'))[0]?.consumedPoints).to.equal(2);
      });
    });

    describe('cost', () => {
      it('should charge what the cost function says', async () => {
        const name = `cost-${randomUUID()}`;
        const limiter = rateLimit({
          redis,
          name,
          windows: { '1m': 5 },
          cost: (req) => (req.params.id === 'ai' ? 3 : 1),
        });
        const { app } = createApp(limiter);
        await request(app).get('/r/ai').expect(200);
        await request(app).get('/r/ai').expect(429);
        await request(app).get('/r/page').expect(200);
        await request(app).get('/r/page').expect(200);
        await request(app).get('/r/page').expect(429);
      });

      it('should pass a bad cost to next(err) as a TypeError', async () => {
        const limiter = rateLimit({ redis, name: `badcost-${randomUUID()}`, windows: { '1m': 5 }, cost: () => 1.5 });
        const { app } = createApp(limiter);
        const res = await request(app).get('/r/1').expect(500);
        expect(res.text).to.include('cost option must return a whole number');
      });
    });

    describe('responses', () => {
      it('should send the legacy X-RateLimit-* headers when asked, for the tightest window', async () => {
        const name = `legacy-${randomUUID()}`;
        const limiter = rateLimit({
          redis,
          name,
          windows: { '1m': 10, '1h': 2 },
          legacyHeaders: true,
          standardHeaders: false,
        });
        const res = await request(createApp(limiter).app).get('/r/1').expect(200);
        expect(res.headers['x-ratelimit-limit']).to.equal('2');
        expect(res.headers['x-ratelimit-remaining']).to.equal('1');
        expect(Number(res.headers['x-ratelimit-reset'])).to.be.above(Date.now() / 1000);
        expect(res.headers.ratelimit).to.equal(undefined);
      });

      it('should not limit or count skipped requests, and let a custom handler answer rejections', async () => {
        const name = `skip-${randomUUID()}`;
        const limiter = rateLimit({
          redis,
          name,
          windows: { '1m': 1 },
          skip: (req) => req.params.id === 'health',
          handler: (_req, res, _next, decision) => {
            res.status(429).json({ custom: true, retryAfterMs: decision.retryAfterMs > 0 });
          },
        });
        const { app } = createApp(limiter);
        for (let i = 0; i < 3; i++) await request(app).get('/r/health').expect(200);
        await request(app).get('/r/1').expect(200);
        const res = await request(app).get('/r/1').expect(429);
        expect(res.body).to.deep.equal({ custom: true, retryAfterMs: true });
        expect(res.headers['retry-after']).to.match(/^\d+$/);
      });

      it('should emit allow, reject and block events', async () => {
        const { events, stop } = recordEvents();
        try {
          const name = `events-${randomUUID()}`;
          const { app } = createApp(rateLimit({ redis, name, windows: { '1m': 1 } }));
          await request(app).get('/r/1').expect(200);
          await request(app).get('/r/1').expect(429);
          await request(app).get('/r/1').expect(429);
          expect(events.filter((e) => e.kind === 'limit' && e.limiter === name).map((e) => e.outcome)).to.deep.equal([
            'allow',
            'reject',
            'block',
          ]);
        } finally {
          stop();
        }
      });
    });

    describe('admin helpers', () => {
      it('should read and reset a subject on an endpoint', async () => {
        const name = `admin-${randomUUID()}`;
        const limiter = rateLimit({ redis, name, windows: { '1m': 1, '1h': 9 } });
        const { app } = createApp(limiter);
        await request(app).get('/r/1').expect(200);
        await request(app).get('/r/1').expect(429);
        const windows = await limiter.get('ip127.0.0.1');
        expect(windows.map((w) => [w.window, w.limit, w.consumedPoints, w.remainingPoints])).to.deep.equal([
          ['1m', 1, 1, 0],
          ['1h', 9, 1, 8],
        ]);
        expect(windows[0]?.msBeforeNext).to.be.within(1, 61_000);
        await limiter.reset('ip127.0.0.1');
        expect((await limiter.get('ip127.0.0.1'))[0]?.consumedPoints).to.equal(0);
        await request(app).get('/r/1').expect(200);
      });
    });

    describe('throttle mode', () => {
      it('should delay a request until it fits instead of rejecting it', async () => {
        const { events, stop } = recordEvents();
        try {
          const name = `throttle-${randomUUID()}`;
          const limiter = rateLimit({
            redis,
            name,
            windows: { '500ms': 1 },
            buckets: 10,
            mode: 'throttle',
            maxWait: '5s',
          });
          const { app, handled } = createApp(limiter);
          const results = await Promise.all([
            request(app).get('/r/1'),
            request(app).get('/r/2'),
            request(app).get('/r/3'),
          ]);
          expect(results.map((r) => r.status)).to.deep.equal([200, 200, 200]);
          expect(handled.count).to.equal(3);
          expect(events.some((e) => e.kind === 'limit' && e.limiter === name && e.outcome === 'throttle')).to.equal(
            true,
          );
        } finally {
          stop();
        }
      });

      it('should reject when the wait would exceed maxWait', async () => {
        const name = `throttle-max-${randomUUID()}`;
        const limiter = rateLimit({ redis, name, windows: { '1m': 1 }, mode: 'throttle', maxWait: '100ms' });
        const { app } = createApp(limiter);
        await request(app).get('/r/1').expect(200);
        await request(app).get('/r/1').expect(429);
      });

      it('should stop waiting when the client disconnects', async () => {
        const name = `throttle-abort-${randomUUID()}`;
        const limiter = rateLimit({ redis, name, windows: { '1s': 1 }, buckets: 10, mode: 'throttle', maxWait: '10s' });
        const { app, handled } = createApp(limiter);
        const server = app.listen(0, '127.0.0.1');
        await new Promise((resolve) => server.once('listening', resolve));
        try {
          const address = server.address() as { port: number };
          await request(server).get('/r/1').expect(200);
          const { events, stop } = recordEvents();
          const controller = new AbortController();
          const aborted = fetch(`http://127.0.0.1:${address.port}/r/1`, { signal: controller.signal }).catch(
            () => 'aborted',
          );
          await waitFor(() => events.some((e) => e.kind === 'limit' && e.outcome === 'throttle'), {
            what: 'throttling',
          });
          stop();
          controller.abort();
          expect(await aborted).to.equal('aborted');
          // Once the window has room again, a new request passes and the aborted one never reached the handler.
          await waitFor(async () => (await request(server).get('/r/1')).status === 200, { what: 'room again' });
          expect(handled.count).to.equal(2);
        } finally {
          server.close();
        }
      });
    });
  });
});
