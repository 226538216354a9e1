import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import express5, { type Express, type Request, type RequestHandler } from 'express';
import express4 from 'express4';
import request from 'supertest';
import { routePatternOf } from '../lib/common/route-pattern';
import { rateLimit } from '../lib/rate-limit';
import { responseCache } from '../lib/response-cache';

/** Answers with the pattern routePatternOf() found, or `unproven: <reason>`. */
const patternAnswer: RequestHandler = (req, res) => {
  const found = routePatternOf(req, req.route as object);
  res.json('pattern' in found ? { pattern: found.pattern } : { unproven: found.unproven });
};

async function patternOf(app: Express, path: string): Promise<{ pattern?: string; unproven?: string }> {
  const res = await request(app).get(path).expect(200);
  return res.body;
}

/** Captures console.warn lines with one of the codes while `run` runs. */
async function warnings(codes: RegExp, run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  try {
    await run();
  } finally {
    console.warn = original;
  }
  return lines.filter((line) => codes.test(line));
}

const majors = [
  ['Express 4', express4, express4.Router],
  ['Express 5', express5, express5.Router],
] as const;

describe('routePatternOf() on Express 4 only', () => {
  it('should read back an optional parameter and a dot from the mount regexp', async () => {
    const app = express4();
    const router = express4.Router();
    router.get('/items', patternAnswer);
    app.use('/v1.0/:org?', router);
    expect(await patternOf(app, '/v1.0/acme/items')).to.deep.equal({ pattern: '/v1.0/:org?/items' });
  });

  it('should leave a parameter with its own regexp unproven rather than guess', async () => {
    const app = express4();
    const router = express4.Router();
    router.get('/items', patternAnswer);
    app.use('/files/:id(\\d+)', router);
    expect((await patternOf(app, '/files/12/items')).unproven).to.match(/cannot read back/);
  });
});

for (const [major, express, Router] of majors) {
  describe(`routePatternOf() on ${major}`, () => {
    it(`should be running on ${major}`, () => {
      const version = major === 'Express 4' ? /^4\./ : /^5\./;
      expect(
        (require(major === 'Express 4' ? 'express4/package.json' : 'express/package.json') as { version: string })
          .version,
      ).to.match(version);
    });

    it('should give the route path alone when nothing is mounted in front', async () => {
      const app = express();
      app.get('/recipes/:id', patternAnswer);
      expect(await patternOf(app, '/recipes/1')).to.deep.equal({ pattern: '/recipes/:id' });
    });

    it('should join a static mount and the route path', async () => {
      const app = express();
      const router = Router();
      router.get('/recipes/:id', patternAnswer);
      app.use('/api/', router);
      expect(await patternOf(app, '/api/recipes/1')).to.deep.equal({ pattern: '/api/recipes/:id' });
    });

    it('should join mounts with parameters, nested routers and a mounted sub-app', async () => {
      const app = express();
      const sub = express();
      const outer = Router();
      const inner = Router({ mergeParams: true });
      inner.get('/items/:id', patternAnswer);
      outer.use('/shops/:sid', inner);
      sub.use('/api', outer);
      app.use('/t/:tenant', sub);
      expect(await patternOf(app, '/t/acme/api/shops/5/items/9')).to.deep.equal({
        pattern: '/t/:tenant/api/shops/:sid/items/:id',
      });
    });

    it('should tell which of several mounts of one router a request came through', async () => {
      const app = express();
      const router = Router();
      router.get('/items', patternAnswer);
      app.use('/users/:uid', router);
      app.use('/shops/:sid', router);
      app.use(['/a', '/b'], router);
      expect(await patternOf(app, '/users/1/items')).to.deep.equal({ pattern: '/users/:uid/items' });
      expect(await patternOf(app, '/shops/2/items')).to.deep.equal({ pattern: '/shops/:sid/items' });
      expect(await patternOf(app, '/b/items')).to.deep.equal({ pattern: '/b/items' });
    });

    it('should leave a RegExp mount unproven', async () => {
      const app = express();
      const router = Router();
      router.get('/items', patternAnswer);
      app.use(/^\/v\d+/, router);
      expect((await patternOf(app, '/v1/items')).unproven).to.be.a('string');
    });

    it('should leave a router called by hand unproven', async () => {
      const app = express();
      const router = Router();
      router.get('/items', patternAnswer);
      app.use('/u/:id', (req, res, next) => router(req, res, next));
      expect((await patternOf(app, '/u/1/items')).unproven).to.match(/not reachable/);
    });

    it('should read the app routers once per route, not once per request', async () => {
      const app = express();
      const router = Router();
      router.get('/items', patternAnswer);
      app.use('/users/:uid', router);
      await patternOf(app, '/users/1/items');
      const own = app as unknown as { _router?: { stack: unknown[] }; router: { stack: unknown[] } };
      const appRouter = own._router ?? own.router;
      const stack = appRouter.stack;
      let reads = 0;
      Object.defineProperty(appRouter, 'stack', {
        configurable: true,
        get: () => {
          reads++;
          return stack;
        },
      });
      for (let i = 2; i < 12; i++) await patternOf(app, `/users/${i}/items`);
      // Express itself reads the stack once per request; a walk would read it again.
      expect(reads).to.equal(10);
    });
  });

  describe(`rateLimit() and responseCache() inside routers on ${major}`, () => {
    const subject = () => `s-${randomUUID()}`;

    it('should limit a route in a router by its pattern, across parameter values', async () => {
      const app = express();
      const router = Router();
      const who = subject();
      router.get('/items', rateLimit({ windows: { '1m': 1 }, key: () => who }), (_req, res) => {
        res.json({ endpoint: res.locals.rateLimit?.endpoint });
      });
      app.use('/users/:uid', router);
      const first = await request(app).get('/users/1/items').expect(200);
      expect(first.body.endpoint).to.equal('/users/:uid/items');
      const limited = await request(app).get('/users/2/items').expect(429);
      expect(limited.headers['retry-after']).to.match(/^\d+$/);
      expect(limited.headers['ratelimit-policy']).to.be.a('string');
    });

    it('should cache a route of a sub-app and a router: MISS, HIT, then 304', async () => {
      const app = express();
      const sub = express();
      const router = Router();
      let calls = 0;
      const base = `/rp-${randomUUID().slice(0, 8)}`;
      router.get('/recipes/:id', responseCache({ localTtl: 0 }), (req: Request, res) => {
        calls++;
        res.json({ id: req.params.id, calls });
      });
      sub.use('/api', router);
      app.use(`${base}/t/:tenant`, sub);
      const miss = await request(app).get(`${base}/t/a/api/recipes/1`).expect(200);
      expect(miss.headers['x-cache']).to.equal('MISS');
      const hit = await request(app).get(`${base}/t/a/api/recipes/1`).expect(200);
      expect(hit.headers['x-cache']).to.equal('HIT');
      expect(hit.body).to.deep.equal(miss.body);
      await request(app).get(`${base}/t/a/api/recipes/1`).set('If-None-Match', String(hit.headers.etag)).expect(304);
      expect(calls).to.equal(1);
    });

    it('should still cache and limit, with one warning each, when the mount cannot be proven', async () => {
      const app = express();
      const router = Router();
      const who = subject();
      let calls = 0;
      router.get(
        '/items',
        rateLimit({ windows: { '1m': 2 }, key: () => who }),
        responseCache({ localTtl: 0 }),
        (_req, res) => {
          calls++;
          res.json({ calls });
        },
      );
      const prefix = randomUUID().slice(0, 8);
      app.use(new RegExp(`^/${prefix}\\d+`), router);
      const lines = await warnings(/W_RATE_LIMIT_ENDPOINT|W_RESPONSE_CACHE_MOUNT_PATTERN/, async () => {
        expect((await request(app).get(`/${prefix}1/items`).expect(200)).headers['x-cache']).to.equal('MISS');
        expect((await request(app).get(`/${prefix}1/items`).expect(200)).headers['x-cache']).to.equal('HIT');
        await request(app).get(`/${prefix}1/items`).expect(429);
      });
      expect(calls).to.equal(1);
      expect(lines.filter((line) => line.includes('W_RATE_LIMIT_ENDPOINT'))).to.have.length(1);
    });
  });
}
