import { expect } from 'chai';
import express from 'express';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import { createRedis, type RedisClient, resolveBackend } from '../lib/redis';
import { responseCache } from '../lib/response-cache';
import { pathGenerationKey, routeGenerationKey, tagGenerationKey } from '../lib/response-cache/generations';
import { CacheHub } from '../lib/response-cache/hub';
import { sessions } from '../lib/sessions';
import {
  apiKeysOf,
  createApp,
  entryKeysOf,
  expectHit,
  expectMiss,
  jsonCall,
  uniquePath,
} from './fixtures/response-cache-app';
import { type Standalone, sharedStandalone, waitFor } from './support';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

/** Collects the api cache events until stopped. */
function recordEvents(): { events: MiddlewareEvent[]; outcomes: () => string[]; stop: () => void } {
  const events: MiddlewareEvent[] = [];
  const stop = onEvent((event) => events.push(event));
  const outcomes = () => events.flatMap((e) => (e.kind === 'cache' && e.cache === 'api' ? [e.outcome] : []));
  return { events, outcomes, stop };
}

/** Regression tests, one per bug found in review, named after the bug. */
describe('responseCache() regressions', () => {
  let standalone: Standalone;
  let redis: RedisClient;
  before(async () => {
    standalone = await sharedStandalone();
    redis = standalone.client();
  });

  describe('a Set-Cookie added when the head is written (express-session)', () => {
    for (const backend of ['memory', 'redis'] as const) {
      it(`should never store it nor serve it to another visitor (${backend})`, async () => {
        const path = uniquePath('session');
        const app = express();
        app.use(sessions({ secret: SECRET }));
        const cache = responseCache({ redis: backend === 'redis' ? redis : undefined, localTtl: 0 });
        let calls = 0;
        app.get(path, cache, (req, res) => {
          calls += 1;
          const session = req.session as unknown as { cart?: string };
          session.cart = `cart-of-visitor-${calls}`;
          res.json({ cart: session.cart });
        });
        const recorder = recordEvents();
        try {
          const first = await request(app).get(path).expect(200);
          expectMiss(first);
          expect(first.headers['set-cookie'], 'visitor 1 gets a session cookie').to.have.length(1);
          // Plain Express sends no Cache-Control: the cache must not make a cookie-setting response look shareable.
          expect(first.headers['cache-control'] ?? '').to.not.match(/max-age=[1-9]/);
          await waitFor(() => recorder.outcomes().some((o) => o === 'skip' || o === 'store'), {
            what: 'the store decision',
          });
          expect(recorder.outcomes()).to.include('skip').and.not.include('store');
          const second = await request(app).get(path).expect(200);
          expect(second.headers['x-cache']).to.not.equal('HIT');
          expect(second.body.cart).to.equal('cart-of-visitor-2');
          expect(calls).to.equal(2);
        } finally {
          recorder.stop();
        }
        if (backend === 'redis') expect(await entryKeysOf(redis, path)).to.deep.equal([]);
      });
    }
  });
  describe('a 304 answered on a miss', () => {
    it("should keep the handler's Set-Cookie and other non-content headers, and drop Content-*", async () => {
      const path = uniquePath('304cookie');
      const { app } = createApp({ redis }, path, (_req, res) => {
        res.cookie('pref', 'dark').set('X-Trace', 'abc').set('Content-Language', 'en').json({ recipe: 'soup' });
      });
      const full = await request(app).get(path).expect(200);
      const etag = full.headers.etag as string;
      const notModified = await request(app).get(path).set('If-None-Match', etag).expect(304);
      expectMiss(notModified);
      expect(notModified.headers['set-cookie']).to.deep.equal(full.headers['set-cookie']);
      expect(notModified.headers['x-trace']).to.equal('abc');
      expect(notModified.headers.etag).to.equal(etag);
      expect(notModified.headers['content-type']).to.equal(undefined);
      expect(notModified.headers['content-language']).to.equal(undefined);
      expect(notModified.headers['content-length']).to.equal(undefined);
    });

    it('should keep headers an outer middleware set (CORS) on a 304 hit', async () => {
      const path = uniquePath('304cors');
      const cors: express.RequestHandler = (_req, res, next) => {
        res.setHeader('Access-Control-Allow-Origin', '*');
        next();
      };
      const { app } = createApp({ redis }, path, jsonCall, { before: [cors] });
      const etag = (await request(app).get(path)).headers.etag as string;
      const hit = await request(app).get(path).set('If-None-Match', etag).expect(304);
      expectHit(hit);
      expect(hit.headers['access-control-allow-origin']).to.equal('*');
    });
  });

  describe("the request's conditional headers", () => {
    it('should be restored once the handler ended (outer middleware still sees them)', async () => {
      const path = uniquePath('restore');
      const seen: Array<string | undefined> = [];
      const logger: express.RequestHandler = (req, res, next) => {
        res.on('finish', () => seen.push(req.headers['if-none-match']));
        next();
      };
      const { app } = createApp({ redis }, path, jsonCall, { before: [logger] });
      await request(app).get(path).set('If-None-Match', '"nope"').expect(200);
      await waitFor(() => seen.length === 1, { what: 'the response to finish' });
      expect(seen).to.deep.equal(['"nope"']);
    });
  });
  describe('the cross-instance fill lock', () => {
    it('should not be released by a slow instance whose lock expired and was taken by another', async () => {
      const path = uniquePath('lockowner');
      const a = createApp({ redis, localTtl: 0, lockTimeout: '1s' }, path, jsonCall);
      const b = createApp({ redis: standalone.client(), localTtl: 0, lockTimeout: '1s' }, path, jsonCall);
      a.origin.close();
      b.origin.close();
      const recorder = recordEvents();
      try {
        const fromA = request(a.app)
          .get(path)
          .then((res) => res);
        await waitFor(() => a.origin.calls === 1, { what: 'instance A filling' });
        const lockKey = await waitFor(async () => (await apiKeysOf(redis, path)).find((key) => key.endsWith('.lock')), {
          what: "A's lock",
        });
        await waitFor(async () => (await redis.exists(lockKey)) === 0, { what: "A's lock to expire" });
        const fromB = request(b.app)
          .get(path)
          .then((res) => res);
        await waitFor(() => b.origin.calls === 1, { what: 'instance B filling under its own lock' });
        expect(await redis.exists(lockKey)).to.equal(1);
        a.origin.open();
        expectMiss(await fromA);
        await waitFor(() => recorder.outcomes().includes('store'), { what: "A's store" });
        await new Promise((resolve) => setImmediate(resolve));
        expect(await redis.exists(lockKey), "B's lock survives A's release").to.equal(1);
        b.origin.open();
        expectMiss(await fromB);
        await waitFor(async () => (await redis.exists(lockKey)) === 0, { what: 'B to release its own lock' });
      } finally {
        recorder.stop();
        a.origin.open();
        b.origin.open();
      }
    });
  });
  describe("a client's Cache-Control: no-cache", () => {
    it('should not force a handler run per request: concurrent refreshers on two instances share one', async () => {
      const path = uniquePath('refreshflight');
      let arrived = 0;
      const count: express.RequestHandler = (_req, _res, next) => {
        arrived += 1;
        next();
      };
      const a = createApp({ redis, localTtl: 0 }, path, jsonCall, { before: [count] });
      const b = createApp({ redis: standalone.client(), localTtl: 0 }, path, jsonCall, { before: [count] });
      await request(a.app).get(path).expect(200);
      await waitFor(async () => (await request(b.app).get(path)).headers['x-cache'] === 'HIT', {
        what: 'a stored entry',
      });
      a.origin.close();
      try {
        const refresh = (app: express.Express) =>
          request(app)
            .get(path)
            .set('Cache-Control', 'no-cache')
            .then((res) => res);
        const first = refresh(a.app);
        await waitFor(() => a.origin.calls === 2, { what: 'the first refresh to run the handler' });
        arrived = 0;
        const others = [
          ...Array.from({ length: 4 }, () => refresh(a.app)),
          ...Array.from({ length: 5 }, () => refresh(b.app)),
        ];
        await waitFor(() => arrived === 9, { what: 'the other refreshers to arrive' });
        a.origin.open();
        for (const res of await Promise.all([first, ...others])) expect(res.body.call).to.equal(2);
        expect(a.origin.calls + b.origin.calls).to.equal(2);
      } finally {
        a.origin.open();
      }
      // A refresh that starts after the last one ended runs the handler again (never served an older entry).
      expectMiss(await request(b.app).get(path).set('Cache-Control', 'no-cache'));
      expect(a.origin.calls + b.origin.calls).to.equal(3);
    });
  });
  describe('the stale-set race across instances', () => {
    /** A client whose user may not use pub/sub: its instance never hears another's invalidation message. */
    let deaf: RedisClient;
    const user = `rc-deaf-${Date.now()}`;
    before(async () => {
      await redis.call('ACL', 'SETUSER', user, 'on', '>deaf-password', '~*', '+@all', 'resetchannels');
      deaf = createRedis(standalone.url.replace('redis://', `redis://${user}:deaf-password@`));
      deaf.on('error', () => undefined);
    });
    after(async () => {
      deaf.disconnect();
      await redis.call('ACL', 'DELUSER', user);
    });

    /**
     * Instance A (on the deaf client: only generations can tell it of an invalidation) reads the data and is
     * held at a gate with its fill lock taken; instance B (a normal client) serves the same route.
     */
    async function raceWithGatedFill(base: string, tag: string) {
      const pattern = `${base}/:id`;
      const db = { stock: 1 };
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let started = 0;
      const app = express();
      app.get(pattern, responseCache({ redis: deaf, localTtl: 0, tags: () => [tag] }), async (_req, res) => {
        const stock = db.stock; // read before the invalidation…
        started += 1;
        if (started === 1) await gate; // …and stored after it
        res.json({ stock });
      });
      const b = createApp({ redis: standalone.client(), localTtl: 0, tags: () => [tag] }, pattern, (_req, res) => {
        res.json({ stock: db.stock });
      });
      const fromA = request(app)
        .get(`${base}/1`)
        .then((res) => res);
      await waitFor(() => started === 1, { what: "A's handler to read the data" });
      const lockKey = await waitFor(
        async () => (await apiKeysOf(redis, pattern)).find((key) => key.endsWith('.lock')),
        { what: "A's lock" },
      );
      db.stock = 2;
      return { pattern, app, b, fromA, lockKey, release };
    }

    for (const kind of ['tags', 'paths', 'routes'] as const) {
      it(`should not keep a response whose handler read the data before another instance invalidated its ${kind}`, async () => {
        const base = uniquePath(`race${kind}`);
        const { pattern, app, b, fromA, lockKey, release } = await raceWithGatedFill(base, 'stock');
        const target = { tags: { tags: ['stock'] }, paths: { paths: [`${base}/1`] }, routes: { routes: [pattern] } }[
          kind
        ];
        await b.cache.invalidate(target);
        release();
        expect((await fromA).body.stock).to.equal(1);
        await waitFor(async () => (await redis.exists(lockKey)) === 0, { what: 'A to finish storing' });
        const fromB = await request(b.app).get(`${base}/1`);
        expect(fromB.body.stock, 'instance B after the invalidation').to.equal(2);
        expect((await request(app).get(`${base}/1`)).body.stock, 'instance A after the invalidation').to.equal(2);
      });
    }

    for (const kind of ['tags', 'paths', 'routes'] as const) {
      it(`should not keep it either when the ${kind} had no generation and the new one was evicted`, async () => {
        const base = uniquePath(`evict${kind}`);
        const tag = `stock-${base}`;
        const { pattern, app, b, fromA, lockKey, release } = await raceWithGatedFill(base, tag);
        const { target, generationKey } = {
          tags: { target: { tags: [tag] }, generationKey: tagGenerationKey(tag) },
          paths: { target: { paths: [`${base}/1`] }, generationKey: pathGenerationKey(`${base}/1`) },
          routes: { target: { routes: [pattern] }, generationKey: routeGenerationKey(pattern) },
        }[kind];
        await b.cache.invalidate(target);
        expect(await redis.exists(generationKey), 'the invalidation set a generation').to.equal(1);
        await redis.del(generationKey); // what eviction (or expiry) does
        release();
        expect((await fromA).body.stock).to.equal(1);
        await waitFor(async () => (await redis.exists(lockKey)) === 0, { what: 'A to finish storing' });
        expect((await request(b.app).get(`${base}/1`)).body.stock, 'instance B after the invalidation').to.equal(2);
        expect((await request(app).get(`${base}/1`)).body.stock, 'instance A after the invalidation').to.equal(2);
      });
    }
  });
  describe('the in-process copy (L1) of a fill whose store Redis refused', () => {
    /** A client whose user may not RENAME: the store's commit script fails with NOPERM. */
    let noRename: RedisClient;
    const user = `rc-norename-${Date.now()}`;
    before(async () => {
      await redis.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-rename');
      noRename = createRedis(standalone.url.replace('redis://', `redis://${user}:pw@`));
      noRename.on('error', () => undefined);
    });
    after(async () => {
      noRename.disconnect();
      await redis.call('ACL', 'DELUSER', user);
    });

    it('should not serve the response as a HIT from the L1 when the store failed', async () => {
      const path = uniquePath('norename');
      const { app, origin } = createApp({ redis: noRename, localTtl: '1m' }, path, jsonCall);
      const recorder = recordEvents();
      try {
        expectMiss(await request(app).get(path).expect(200));
        await waitFor(async () => (await apiKeysOf(redis, path)).every((key) => !key.endsWith('.lock')), {
          what: 'the store attempt to end (lock released)',
        });
        await waitFor(() => recorder.outcomes().includes('skip'), { what: 'the failed store to be reported' });
        expect(recorder.outcomes()).to.not.include('store');
      } finally {
        recorder.stop();
      }
      expect(await entryKeysOf(redis, path), 'nothing in Redis').to.deep.equal([]);
      const again = await request(app).get(path).expect(200);
      expect(again.headers['x-cache'], 'the refused response is not served from the L1').to.equal('MISS');
      expect(again.body.call).to.equal(2);
      expect(origin.calls).to.equal(2);
    });
  });
  describe('the vary specs of endpoints (app.use: one endpoint per path)', () => {
    it('should be remembered for a bounded number of endpoints', async () => {
      const hub = new CacheHub(resolveBackend({}), 5);
      for (let i = 0; i < 50; i++) hub.varySpecs.remember(`/e${i}`, null);
      expect(hub.varySpecs.size).to.equal(5);
      expect(hub.varySpecs.known('/e49')).to.deep.equal([]);
      expect(hub.varySpecs.known('/e0')).to.equal(undefined);
    });

    it('should read the vary spec of a new endpoint with its entry, in one command', async () => {
      const base = uniquePath('varyread');
      const app = express();
      app.use(base, responseCache({ redis, localTtl: 0 }), (req, res) => {
        res.json({ path: req.originalUrl });
      });
      const monitor = standalone.client();
      const commands: string[][] = [];
      const monitoring = await (monitor as Redis).monitor();
      monitoring.on('monitor', (_time: string, args: string[]) => commands.push(args.map(String)));
      try {
        await request(app).get(`${base}/a`).expect(200);
        await request(app).get(`${base}/b`).expect(200);
        await waitFor(() => commands.filter((c) => c.some((arg) => arg.endsWith(':vary'))).length >= 2, {
          what: 'the lookups in MONITOR',
        });
      } finally {
        monitoring.disconnect();
      }
      const reads = commands.filter((c) => c.some((arg) => arg.includes(base) && arg.endsWith(':vary')));
      expect(reads.map((c) => (c[0] as string).toUpperCase())).to.deep.equal(['MGET', 'MGET']);
    });
  });
  describe('the endpoint of a route behind a mounted router', () => {
    it('should be the mount pattern plus the route pattern, so invalidate({ routes }) finds every uid', async () => {
      const base = uniquePath('mount');
      const app = express();
      const router = express.Router();
      const cache = responseCache({ redis, localTtl: 0 });
      router.get('/items', cache, (req, res) => {
        res.json({ url: req.originalUrl });
      });
      app.use(`${base}/users/:uid`, router);
      const pattern = `${base}/users/:uid/items`;
      await request(app).get(`${base}/users/1/items`).expect(200);
      await request(app).get(`${base}/users/2/items`).expect(200);
      await waitFor(async () => (await entryKeysOf(redis, pattern)).length === 2, {
        what: 'two entries under the pattern',
      });
      expect(await cache.invalidate({ routes: [pattern] })).to.equal(2);
      expectMiss(await request(app).get(`${base}/users/1/items`));
    });

    it('should follow a sub-app mounted on a pattern too', async () => {
      const base = uniquePath('subapp');
      const app = express();
      const sub = express();
      sub.get('/orders/:id', responseCache({ redis, localTtl: 0 }), (req, res) => {
        res.json({ url: req.originalUrl });
      });
      app.use(`${base}/t/:tenant`, sub);
      await request(app).get(`${base}/t/a/orders/1`).expect(200);
      await request(app).get(`${base}/t/b/orders/2`).expect(200);
      await waitFor(async () => (await entryKeysOf(redis, `${base}/t/:tenant/orders/:id`)).length === 2, {
        what: 'two entries under the pattern',
      });
    });
  });
});
