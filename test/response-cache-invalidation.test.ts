import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express5, { type Express, type Request, type Response } from 'express';
import express4 from 'express4';
import request from 'supertest';
import type { RedisClient } from '../lib/redis';
import { type ResponseCacheOptions, responseCache } from '../lib/response-cache';
import { pendingOn } from '../lib/response-cache/pending';
import { uniquePath } from './fixtures/response-cache-app';
import { Standalone, sharedStandalone, waitFor } from './support';

/** How a write's handler answers: at once, streamed in chunks, or with a redirect to the item (POST-redirect-GET). */
const answers = {
  json: (res: Response, version: number) => res.json({ version }),
  streamed: (res: Response, version: number) => {
    res.status(200).setHeader('Content-Type', 'application/json');
    res.write('{"version":');
    setImmediate(() => res.end(`${version}}`));
  },
  redirect: (res: Response, _version: number, item: string) => res.redirect(303, item),
};

/** An item API instance: GET /items/:id through the cache, PUT /items/:id and POST /items/:id/edit bump the version. */
function itemsApp(
  makeExpress: typeof express5,
  redis: RedisClient | undefined,
  versions: Map<string, number>,
  base: string,
  options: ResponseCacheOptions = {},
): Express {
  const app = makeExpress();
  app.set('env', 'test');
  const cache = responseCache({ redis, ttl: '5m', ...options });
  const bump = (req: Request): number => {
    const id = String(req.params.id);
    const version = (versions.get(id) ?? 0) + 1;
    versions.set(id, version);
    return version;
  };
  app.get(`${base}/:id`, cache, (req, res) => {
    res.json({ version: versions.get(String(req.params.id)) ?? 0 });
  });
  app.put(`${base}/:id`, cache, (req, res) => {
    const version = bump(req);
    const answer = version % 2 === 0 ? answers.streamed : answers.json;
    answer(res, version);
  });
  app.post(`${base}/:id/edit`, responseCache.invalidator({ redis }), (req, res) => {
    answers.redirect(res, bump(req), `${base}/${req.params.id}`);
  });
  return app;
}

/** Sends a request with any method (supertest knows only the standard ones). */
function send(app: Express, method: string, path: string): Promise<number> {
  const server = app.listen(0);
  return new Promise((resolve, reject) => {
    const { port } = server.address() as AddressInfo;
    const req = httpRequest({ host: '127.0.0.1', port, method, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  }).finally(() => server.close()) as Promise<number>;
}

describe('responseCache() invalidation', function () {
  this.timeout(60_000);
  let standalone: Standalone;
  before(async () => {
    standalone = await sharedStandalone();
  });

  describe('a successful unsafe request', () => {
    for (const [label, makeExpress] of [
      ['Express 5', express5],
      ['Express 4', express4 as unknown as typeof express5],
    ] as const) {
      it(`should be visible on another instance as soon as its response arrived, 100 times in a row (${label})`, async () => {
        const base = uniquePath('visible');
        const versions = new Map<string, number>();
        // Two instances, each with its own client and its own in-process copy (localTtl 2 s).
        const a = itemsApp(makeExpress, standalone.client(), versions, base);
        const b = itemsApp(makeExpress, standalone.client(), versions, base);
        let old = 0;
        let hits = 0;
        for (let i = 0; i < 100; i++) {
          const item = `${base}/${i % 3}`;
          const before = await request(b).get(item).expect(200);
          if (before.headers['x-cache'] === 'HIT') hits++;
          if (i % 5 === 4) {
            // POST-redirect-GET through the invalidator middleware: the page redirected to shows the write.
            await request(a).post(`${item}/edit`).expect(303).expect('Location', item);
          } else {
            const write = await request(a).put(item).expect(200);
            expect(write.body.version).to.equal(versions.get(String(i % 3)));
          }
          const after = await request(b).get(item).expect(200);
          if (after.body.version !== versions.get(String(i % 3))) old++;
        }
        expect(old, 'reads on B served the entry from before the write').to.equal(0);
        expect(hits, 'B served hits between the writes (the test exercises the cache)').to.be.greaterThan(30);
      });
    }

    it('should invalidate on a method of unknown safety (M-SEARCH, RFC 9111 §4.4), and not on OPTIONS', async () => {
      const base = uniquePath('msearch');
      const versions = new Map<string, number>();
      const app = itemsApp(express5, standalone.client(), versions, base);
      app.all(`${base}/:id`, responseCache.invalidator({ redis: standalone.client() }), (req, res) => {
        if (req.method === 'M-SEARCH') versions.set(String(req.params.id), 7);
        res.sendStatus(200);
      });
      await request(app).get(`${base}/1`).expect(200);
      expect((await request(app).get(`${base}/1`)).headers['x-cache']).to.equal('HIT');
      expect(await send(app, 'OPTIONS', `${base}/1`)).to.equal(200);
      expect((await request(app).get(`${base}/1`)).headers['x-cache'], 'OPTIONS is safe').to.equal('HIT');
      expect(await send(app, 'M-SEARCH', `${base}/1`)).to.equal(200);
      const after = await request(app).get(`${base}/1`).expect(200);
      expect(after.body.version).to.equal(7);
    });
  });

  describe('when Redis stops answering during a write', () => {
    let frozen: Standalone;
    before(async () => {
      frozen = await Standalone.start();
    });
    after(async () => {
      frozen.node.resume();
      await frozen.stop();
    });

    it('should still answer the write within redisTimeout, never serve the old entry on that instance, and catch up when Redis is back', async () => {
      const base = uniquePath('frozen');
      const versions = new Map<string, number>();
      const client = frozen.client();
      const app = itemsApp(express5, client, versions, base, { redisTimeout: '200ms', localTtl: 0 });
      await request(app).get(`${base}/1`).expect(200);
      expect((await request(app).get(`${base}/1`)).headers['x-cache']).to.equal('HIT');
      const warnings: string[] = [];
      const warn = console.warn;
      console.warn = (line: string) => warnings.push(line);
      frozen.node.freeze();
      try {
        const write = await request(app).put(`${base}/1`).timeout(5_000).expect(200);
        expect(write.body.version).to.equal(1);
        expect(pendingOn(client), 'the invalidation is pending in this process').to.equal(true);
        const read = await request(app).get(`${base}/1`).timeout(5_000).expect(200);
        expect(read.headers['x-cache']).to.equal('BYPASS');
        expect(read.body.version).to.equal(1);
        // More writes during the outage: still one warning line for it.
        await request(app).put(`${base}/2`).timeout(5_000).expect(200);
      } finally {
        frozen.node.resume();
      }
      await waitFor(() => !pendingOn(client), { what: 'the pending invalidation to reach Redis', timeoutMs: 20_000 });
      console.warn = warn;
      expect(warnings, 'one warning line for the outage').to.have.length(1);
      expect(warnings[0]).to.match(/W_RESPONSE_CACHE_INVALIDATION_PENDING: could not invalidate paths/);
      const again = await request(app).get(`${base}/1`).expect(200);
      expect(again.body.version).to.equal(1);
    });
  });

  describe('requests whose responses are not stored', () => {
    it('should leave no key behind in Redis (400 and 404 answers, with tags and path generations)', async () => {
      const isolated = standalone.client({ db: 12 });
      await isolated.flushdb();
      const base = uniquePath('litter');
      const app = express5();
      const cache = responseCache({ redis: isolated, tags: (req) => [`recipe:${req.params.id}`] });
      app.get(`${base}/:id`, cache, (req, res) => {
        const id = String(req.params.id);
        if (!/^\d+$/.test(id)) res.status(400).json({ error: 'bad id' });
        else if (Number(id) > 10) res.status(404).json({ error: 'no such recipe' });
        else res.json({ id });
      });
      for (let i = 0; i < 100; i++) {
        await request(app).get(`${base}/x${i}`).expect(400);
        await request(app)
          .get(`${base}/${100 + i}`)
          .expect(404);
      }
      await waitFor(async () => (await isolated.dbsize()) === 0, {
        what: 'every fill lock released, nothing else left',
      });
      // The scan sees what a stored response leaves (entry, generations, indexes): the check above could fail.
      await request(app).get(`${base}/1`).expect(200);
      await waitFor(async () => (await isolated.keys('*')).some((key) => key.endsWith(':gen')), {
        what: 'the keys of a stored response',
      });
    });
  });
});
