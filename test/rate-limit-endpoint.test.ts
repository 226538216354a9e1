import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import express, { type Express, type RequestHandler, Router } from 'express';
import request from 'supertest';
import { type RateLimitMiddleware, rateLimit } from '../lib/rate-limit';

/** A memory-backend limiter of one request per minute, every request from the same subject. */
function onePerMinute(): RateLimitMiddleware {
  const subject = `s-${randomUUID()}`;
  return rateLimit({ windows: { '1m': 1 }, key: () => subject });
}

/** The handler behind the limiter: answers with the endpoint the request was counted under. */
const answer: RequestHandler = (_req, res) => {
  res.json({ endpoint: res.locals.rateLimit?.endpoint });
};

/** Captures console.warn lines while `run` runs. */
async function warnings(run: () => Promise<void>): Promise<string[]> {
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
  return lines.filter((line) => line.includes('W_RATE_LIMIT_ENDPOINT'));
}

async function endpointOf(app: Express, path: string, status = 200): Promise<string> {
  const res = await request(app).get(path).expect(status);
  return res.body.endpoint as string;
}

describe('rateLimit() endpoint (the route pattern)', () => {
  describe('when the route sits in a router mounted at a path with parameters', () => {
    it('should count /users/:uid/items once across all user ids, not once per id', async () => {
      const app = express();
      const router = Router();
      router.get('/items', onePerMinute(), answer);
      app.use('/users/:uid', router);
      expect(await endpointOf(app, '/users/1/items')).to.equal('/users/:uid/items');
      await request(app).get('/users/2/items').expect(429);
      await request(app).get('/users/3/items').expect(429);
    });

    it('should do the same with mergeParams', async () => {
      const app = express();
      const router = Router({ mergeParams: true });
      router.get('/items/:id', onePerMinute(), answer);
      app.use('/users/:uid', router);
      expect(await endpointOf(app, '/users/1/items/7')).to.equal('/users/:uid/items/:id');
      await request(app).get('/users/2/items/8').expect(429);
    });

    it('should join the patterns of nested routers and of a mounted sub-app', async () => {
      const app = express();
      const sub = express();
      const outer = Router();
      const inner = Router();
      inner.get('/items/:id', onePerMinute(), answer);
      outer.use('/shops/:sid', inner);
      sub.use('/api/', outer);
      app.use('/t/:tenant', sub);
      expect(await endpointOf(app, '/t/acme/api/shops/5/items/9')).to.equal('/t/:tenant/api/shops/:sid/items/:id');
      await request(app).get('/t/other/api/shops/6/items/10').expect(429);
    });

    it('should resolve the pattern once per route, not per request', async () => {
      const app = express();
      const users = Router();
      const limiter = rateLimit({ windows: { '1m': 1000 }, key: () => `many-${randomUUID()}` });
      users.get('/items', limiter, answer);
      app.use('/users/:uid', users);
      await endpointOf(app, '/users/1/items');
      // Count reads of the app's layer stack: Express reads it once per request; a walk would read it again.
      const router = app.router as unknown as { stack: unknown[] };
      const stack = router.stack;
      let reads = 0;
      Object.defineProperty(router, 'stack', {
        configurable: true,
        get: () => {
          reads++;
          return stack;
        },
      });
      for (let i = 2; i < 20; i++) expect(await endpointOf(app, `/users/${i}/items`)).to.equal('/users/:uid/items');
      expect(reads).to.equal(18);
    });
  });

  describe('when the route sits behind static mounts only', () => {
    it('should use the mount path and the route path', async () => {
      const app = express();
      const router = Router();
      router.get('/recipes/:id', onePerMinute(), answer);
      app.use('/api', router);
      expect(await endpointOf(app, '/api/recipes/1')).to.equal('/api/recipes/:id');
      await request(app).get('/API/recipes/2').expect(429);
    });

    it('should use the route path alone when nothing is mounted in front', async () => {
      const app = express();
      app.get('/recipes/:id', onePerMinute(), answer);
      expect(await endpointOf(app, '/recipes/1')).to.equal('/recipes/:id');
    });
  });

  describe('when the mount pattern cannot be proven', () => {
    it('should count a router mounted at two patterns under the pattern each request came through', async () => {
      const app = express();
      const router = Router();
      router.get('/items', onePerMinute(), answer);
      app.use('/users/:uid', router);
      app.use('/shops/:sid', router);
      const lines = await warnings(async () => {
        expect(await endpointOf(app, '/users/1/items')).to.equal('/users/:uid/items');
        expect(await endpointOf(app, '/shops/2/items')).to.equal('/shops/:sid/items');
        await request(app).get('/users/3/items').expect(429);
      });
      expect(lines).to.deep.equal([]);
    });

    it('should fall back to ~<route path> when two mounts both match, and warn once naming the name option', async () => {
      const app = express();
      const router = Router();
      router.get('/items', onePerMinute(), answer);
      app.use('/:tenant', router);
      app.use('/shared', router);
      const lines = await warnings(async () => {
        expect(await endpointOf(app, '/shared/items')).to.equal('~/items');
        await request(app).get('/shared/items').expect(429);
      });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include("'/items'").and.include('name option');
    });

    it('should fall back for a regular-expression mount', async () => {
      const app = express();
      const router = Router();
      router.get('/items', onePerMinute(), answer);
      app.use(/^\/v\d+/, router);
      const lines = await warnings(async () => {
        expect(await endpointOf(app, '/v1/items')).to.equal('~/items');
        await request(app).get('/v2/items').expect(429);
      });
      expect(lines).to.have.length(1);
    });

    it('should fall back for a router called by hand from a middleware', async () => {
      const app = express();
      const router = Router();
      router.get('/items', onePerMinute(), answer);
      app.use('/u/:id', (req, res, next) => {
        router(req, res, next);
      });
      const lines = await warnings(async () => {
        expect(await endpointOf(app, '/u/1/items')).to.equal('~/items');
        await request(app).get('/u/2/items').expect(429);
      });
      expect(lines).to.have.length(1);
    });

    it('should fall back when a static mount does not match req.baseUrl (a sub-app mounted twice)', async () => {
      const app = express();
      const sub = express();
      sub.get('/items', onePerMinute(), answer);
      app.use('/a', sub);
      app.use('/b', sub);
      const lines = await warnings(async () => {
        expect(await endpointOf(app, '/a/items')).to.equal('~/items');
      });
      expect(lines).to.have.length(1);
    });

    it('should never use the raw URL, whatever the mount', async () => {
      const app = express();
      const router = Router();
      const limiter = rateLimit({ windows: { '1m': 100 }, key: () => `raw-${randomUUID()}` });
      router.get('/items', limiter, answer);
      app.use(/^\/v\d+/, router);
      app.use('/x/:id', router);
      await warnings(async () => {
        for (const path of ['/v1/items', '/v22/items', '/x/1/items', '/x/2/items']) {
          expect(await endpointOf(app, path)).to.not.match(/\d/);
        }
      });
    });
  });

  describe('with a name', () => {
    it('should count every route under the name, without resolving anything', async () => {
      const app = express();
      const router = Router();
      router.get('/items', rateLimit({ name: 'items', windows: { '1m': 1 }, key: () => 'n' }), answer);
      app.use(/^\/v\d+/, router);
      const lines = await warnings(async () => {
        expect(await endpointOf(app, '/v1/items')).to.equal('items');
      });
      expect(lines).to.have.length(0);
    });
  });
});
