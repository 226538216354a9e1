import { Readable } from 'node:stream';
import { expect } from 'chai';
import express from 'express';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import type { RedisClient } from '../lib/redis';
import { responseCache } from '../lib/response-cache';
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

describe('responseCache()', () => {
  let standalone: Standalone;
  let redis: RedisClient;
  before(async () => {
    standalone = await sharedStandalone();
    redis = standalone.client();
  });

  /** Waits until the endpoint has `count` entries in Redis (stores complete just after the response). */
  const stored = (endpoint: string, count = 1) =>
    waitFor(async () => (await entryKeysOf(redis, endpoint)).length === count, {
      what: `${count} entries of ${endpoint}`,
    });

  describe('options', () => {
    it('should throw a TypeError naming a bad ttl', () => {
      expect(() => responseCache({ ttl: 'soon' as '5m' })).to.throw(TypeError, /ttl option must be a duration/);
    });

    it('should throw a TypeError naming bad statuses', () => {
      expect(() => responseCache({ statuses: [500 as 200] })).to.throw(TypeError, /statuses option/);
    });

    it('should throw a TypeError naming a tags option that is not a function', () => {
      expect(() => responseCache({ tags: ['x'] as unknown as () => string[] })).to.throw(TypeError, /tags option/);
    });

    it('should throw a TypeError naming a redis option that is not a client', () => {
      expect(() => responseCache({ redis: {} as RedisClient })).to.throw(TypeError, /redis option/);
    });
  });

  describe('storing and serving', () => {
    it('should answer MISS, then HIT with the stored status, headers and body, Age, Cache-Control and ETag', async () => {
      const path = uniquePath('basic');
      const { app, origin } = createApp({ redis, ttl: '5m', localTtl: 0 }, path, (_req, res, call) => {
        res.set('X-Origin', 'yes').status(200).json({ call });
      });
      const miss = await request(app).get(path).expect(200);
      expectMiss(miss);
      expect(miss.headers.etag).to.match(/^"[^"]+"$/);
      expect(miss.headers['cache-control']).to.equal('no-cache');
      await stored(path);
      const hit = await request(app).get(path).expect(200);
      expectHit(hit);
      expect(hit.body).to.deep.equal({ call: 1 });
      expect(hit.headers['x-origin']).to.equal('yes');
      expect(hit.headers['content-type']).to.match(/application\/json/);
      expect(hit.headers.etag).to.equal(miss.headers.etag);
      expect(Number(hit.headers.age)).to.be.within(0, 5);
      expect(hit.headers['cache-control']).to.equal('no-cache');
      expect(origin.calls).to.equal(1);
    });

    it('should not replay headers an outer middleware set for the first request', async () => {
      const path = uniquePath('preset');
      let id = 0;
      const requestId: express.RequestHandler = (_req, res, next) => {
        res.setHeader('X-Request-Id', `req-${++id}`);
        next();
      };
      const { app } = createApp({ redis }, path, jsonCall, { before: [requestId] });
      expect((await request(app).get(path)).headers['x-request-id']).to.equal('req-1');
      const hit = await request(app).get(path);
      expectHit(hit);
      expect(hit.headers['x-request-id']).to.equal('req-2');
    });

    it('should key by api:{route pattern}:<params_hash>', async () => {
      const base = uniquePath('pattern');
      const { app } = createApp({ redis, localTtl: 0 }, `${base}/:id`, jsonCall);
      await request(app).get(`${base}/1`).expect(200);
      await request(app).get(`${base}/2`).expect(200);
      const keys = await waitFor(
        async () => {
          const found = await entryKeysOf(redis, `${base}/:id`);
          return found.length === 2 ? found : undefined;
        },
        { what: 'two entries' },
      );
      for (const key of keys) expect(key).to.match(new RegExp(`^api:\\{${base}/%3Aid\\}:[0-9a-f]{32}$`));
      expect((await request(app).get(`${base}/2`)).body.path).to.equal(`${base}/2`);
    });

    it('should share one entry between orders and spellings of the same query, and not between different queries', async () => {
      const path = uniquePath('query');
      const { app, origin } = createApp({ redis }, path, jsonCall);
      expectMiss(await request(app).get(`${path}?b=2&a=1`));
      expectHit(await request(app).get(`${path}?a=1&b=2`));
      expectHit(await request(app).get(`${path}?a=%31&b=2`));
      expectMiss(await request(app).get(`${path}?a=1&b=3`));
      expectMiss(await request(app).get(`${path}?a=1&b=2&a=0`));
      expect(origin.calls).to.equal(3);
    });

    it('should capture res.write + res.end, piped streams and Buffers alike', async () => {
      const path = uniquePath('writes');
      const app = express();
      const cache = responseCache({ redis });
      app.get(`${path}/write`, cache, (_req, res) => {
        res.setHeader('Content-Type', 'text/plain');
        res.write('hello ');
        res.write(Buffer.from('wor'));
        res.end('ld');
      });
      app.get(`${path}/pipe`, cache, (_req, res) => {
        res.type('text/plain');
        Readable.from(['a', 'b', 'c']).pipe(res);
      });
      app.get(`${path}/head`, cache, (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Head': '1' });
        res.end('via writeHead');
      });
      for (const [suffix, text] of [
        ['write', 'hello world'],
        ['pipe', 'abc'],
        ['head', 'via writeHead'],
      ] as const) {
        const miss = await request(app).get(`${path}/${suffix}`).expect(200);
        expect(miss.text).to.equal(text);
        const hit = await request(app).get(`${path}/${suffix}`).expect(200);
        expectHit(hit);
        expect(hit.text).to.equal(text);
        expect(hit.headers.etag).to.equal(miss.headers.etag);
      }
      expect((await request(app).get(`${path}/head`)).headers['x-head']).to.equal('1');
    });

    it('should store bodies above compressAbove gzip-compressed and serve them unchanged', async () => {
      const path = uniquePath('gzip');
      const body = 'recipe '.repeat(5000);
      const { app } = createApp({ redis, compressAbove: 1024, localTtl: 0 }, path, (_req, res) => {
        res.type('text/plain').send(body);
      });
      await request(app).get(path).expect(200);
      const [key] = await stored(path).then(() => entryKeysOf(redis, path));
      const raw = (await redis.getBuffer(key as string)) as Buffer;
      expect(raw.length).to.be.lessThan(body.length / 4);
      expect(raw.toString('latin1')).to.include('"codec":"gzip"');
      const hit = await request(app).get(path).expect(200);
      expectHit(hit);
      expect(hit.text).to.equal(body);
    });

    it('should not store bodies above maxBodySize, and still send them whole', async () => {
      const path = uniquePath('large');
      const body = 'x'.repeat(20_000);
      const { app, origin } = createApp({ redis, maxBodySize: 10_000 }, path, (_req, res) => {
        res.type('text/plain');
        res.write(body.slice(0, 8000));
        res.end(body.slice(8000));
      });
      const first = await request(app).get(path).expect(200);
      expect(first.text).to.equal(body);
      expectMiss(first);
      expectMiss(await request(app).get(path));
      expect(origin.calls).to.equal(2);
      expect(await entryKeysOf(redis, path)).to.deep.equal([]);
    });

    it('should serve HEAD from the GET entry', async () => {
      const path = uniquePath('head');
      const { app, origin } = createApp({ redis }, path, jsonCall);
      const get = await request(app).get(path).expect(200);
      const head = await request(app).head(path).expect(200);
      expectHit(head);
      expect(head.headers['content-length']).to.equal(String(Buffer.byteLength(get.text)));
      expect(head.text).to.equal(undefined);
      expect(origin.calls).to.equal(1);
    });

    it('should store only 200 by default, and the opted-in statuses', async () => {
      const path = uniquePath('status');
      const notFound = (_req: express.Request, res: express.Response) => {
        res.status(404).json({ error: 'none' });
      };
      const plain = createApp({ redis }, path, notFound);
      await request(plain.app).get(path).expect(404);
      expectMiss(await request(plain.app).get(path).expect(404));
      const path2 = uniquePath('status404');
      const optIn = createApp({ redis, statuses: [200, 404] }, path2, notFound);
      await request(optIn.app).get(path2).expect(404);
      expectHit(await request(optIn.app).get(path2).expect(404));
    });

    it('should shorten the lifetime to the max-age the handler sets, and serve its Cache-Control as is', async () => {
      const path = uniquePath('ownmaxage');
      const { app } = createApp({ redis, ttl: '1h' }, path, (_req, res) => {
        res.set('Cache-Control', 'public, max-age=60').json({ ok: true });
      });
      await request(app).get(path);
      const hit = await request(app).get(path);
      expectHit(hit);
      expect(hit.headers['cache-control']).to.equal('public, max-age=60');
      const [key] = await stored(path).then(() => entryKeysOf(redis, path));
      expect(await redis.pttl(key as string)).to.be.within(1, 60_000);
    });

    it('should work without Redis, in memory', async () => {
      const path = uniquePath('memory');
      const { app, origin } = createApp({}, path, jsonCall);
      expectMiss(await request(app).get(path));
      expectHit(await request(app).get(path));
      expect(origin.calls).to.equal(1);
    });
  });

  describe('events', () => {
    it("should report miss, store, hit, skip and bypass with cache: 'api'", async () => {
      const path = uniquePath('events');
      const events: MiddlewareEvent[] = [];
      const stop = onEvent((event) => events.push(event));
      try {
        const { app } = createApp({ redis, name: 'events-endpoint' }, path, (req, res, call) => {
          if (req.query.cookie) res.cookie('a', 'b');
          res.json({ call });
        });
        await request(app).get(path);
        await waitFor(() => events.some((e) => e.kind === 'cache' && e.outcome === 'store'), { what: 'store event' });
        await request(app).get(path);
        await request(app).get(`${path}?cookie=1`);
        await request(app).get(path).set('Cache-Control', 'no-store');
      } finally {
        stop();
      }
      const outcomes = events.flatMap((e) => (e.kind === 'cache' && e.cache === 'api' ? [e.outcome] : []));
      expect(outcomes).to.include.members(['miss', 'store', 'hit', 'skip', 'bypass']);
      const skip = events.find((e) => e.kind === 'cache' && e.outcome === 'skip');
      expect(skip && 'reason' in skip ? skip.reason : '').to.match(/cookie/);
      expect(await entryKeysOf(redis, 'events-endpoint')).to.have.length(1);
    });
  });

  describe('responses that are never stored', () => {
    it('should never store a response that sets a cookie (and leave no key in the db)', async () => {
      const isolated = standalone.client({ db: 11 });
      await isolated.flushdb();
      const path = uniquePath('cookie');
      const { app, origin } = createApp({ redis: isolated }, path, (_req, res) => {
        res.cookie('sid', 'secret').json({ ok: true });
      });
      expectMiss(await request(app).get(path));
      const second = await request(app).get(path);
      expectMiss(second);
      expect(second.headers['set-cookie']).to.have.length(1);
      expect(origin.calls).to.equal(2);
      // The miss's fill lock and the generations it created are released: nothing stays.
      await waitFor(async () => (await isolated.keys('*')).length === 0, { what: 'no key left (lock released)' });
    });

    for (const [label, header] of [
      ['private', 'private, max-age=60'],
      ['no-store', 'no-store'],
      ['no-cache', 'no-cache'],
    ] as const) {
      it(`should never store Cache-Control: ${label}`, async () => {
        const path = uniquePath(label);
        const { app, origin } = createApp({ redis }, path, (_req, res) => {
          res.set('Cache-Control', header).json({ ok: true });
        });
        await request(app).get(path);
        expectMiss(await request(app).get(path));
        expect(origin.calls).to.equal(2);
        expect(await entryKeysOf(redis, path)).to.deep.equal([]);
      });
    }

    it('should never store Vary: *', async () => {
      const path = uniquePath('varystar');
      const { app, origin } = createApp({ redis }, path, (_req, res) => {
        res.set('Vary', '*').json({ ok: true });
      });
      await request(app).get(path);
      await request(app).get(path);
      expect(origin.calls).to.equal(2);
    });

    it('should bypass requests carrying Authorization', async () => {
      const path = uniquePath('auth');
      const { app, origin } = createApp({ redis }, path, jsonCall);
      const res = await request(app).get(path).set('Authorization', 'Bearer abc');
      expect(res.headers['x-cache']).to.equal('BYPASS');
      await request(app).get(path).set('Authorization', 'Bearer abc');
      expect(origin.calls).to.equal(2);
      expect(await entryKeysOf(redis, path)).to.deep.equal([]);
    });

    it('should share Authorization responses only when opted in and the response is public (RFC 9111 §3.5)', async () => {
      const path = uniquePath('authpublic');
      const { app, origin } = createApp({ redis, shareAuthorized: true }, path, (req, res, call) => {
        if (req.query.public) res.set('Cache-Control', 'public, max-age=60');
        res.json({ call });
      });
      await request(app).get(path).set('Authorization', 'Bearer a');
      expectMiss(await request(app).get(path).set('Authorization', 'Bearer a'));
      await request(app).get(`${path}?public=1`).set('Authorization', 'Bearer a');
      expectHit(await request(app).get(`${path}?public=1`).set('Authorization', 'Bearer b'));
      // Anonymous requests never get an entry made for an authorized one.
      expectMiss(await request(app).get(`${path}?public=1`));
      expect(origin.calls).to.equal(4);
    });

    it('should not cache unsafe methods', async () => {
      const path = uniquePath('post');
      const app = express();
      let calls = 0;
      app.post(path, responseCache({ redis }), (_req, res) => {
        calls += 1;
        res.json({ calls });
      });
      await request(app).post(path).expect(200);
      const second = await request(app).post(path).expect(200);
      expect(second.headers['x-cache']).to.equal(undefined);
      expect(calls).to.equal(2);
    });
  });

  describe('Vary', () => {
    it('should key by the request headers the response varies on', async () => {
      const path = uniquePath('vary');
      const { app, origin } = createApp({ redis }, path, (req, res, call) => {
        res.vary('Accept-Language').json({ call, lang: req.get('accept-language') ?? null });
      });
      const en = await request(app).get(path).set('Accept-Language', 'en');
      const fr = await request(app).get(path).set('Accept-Language', 'fr');
      expect(fr.body.lang).to.equal('fr');
      const en2 = await request(app).get(path).set('Accept-Language', 'EN ');
      expectHit(en2);
      expect(en2.body).to.deep.equal(en.body);
      const fr2 = await request(app).get(path).set('Accept-Language', 'fr');
      expectHit(fr2);
      expect(fr2.body.lang).to.equal('fr');
      expect(fr2.headers.vary).to.match(/Accept-Language/i);
      expect(origin.calls).to.equal(2);
    });
  });

  describe('conditional requests', () => {
    it('should answer a matching If-None-Match with 304 on a miss and on a hit, with ETag, Cache-Control and Vary', async () => {
      const path = uniquePath('inm');
      const { app } = createApp({ redis }, path, (_req, res) => {
        res.vary('Accept-Encoding').json({ recipe: 'soup' });
      });
      const full = await request(app).get(`${path}?warm=1`);
      const etag = full.headers.etag as string;
      for (const query of ['?cold=1', '?warm=1']) {
        const res = await request(app).get(`${path}${query}`).set('If-None-Match', etag).expect(304);
        expect(res.headers['x-cache']).to.equal(query === '?cold=1' ? 'MISS' : 'HIT');
        expect(res.headers.etag).to.equal(etag);
        expect(res.headers['cache-control']).to.equal('no-cache');
        expect(res.headers.vary).to.match(/Accept-Encoding/);
        expect(res.headers['content-length']).to.equal(undefined);
        expect(res.text).to.equal('');
      }
      // The conditional miss still stored the full response.
      expectHit(await request(app).get(`${path}?cold=1`).expect(200));
    });

    it('should compare weakly (RFC 9110 §13.1.2), accept lists and *, and send 200 when nothing matches', async () => {
      const path = uniquePath('weak');
      const { app } = createApp({ redis }, path, jsonCall);
      const etag = (await request(app).get(path)).headers.etag as string;
      await request(app).get(path).set('If-None-Match', `W/${etag}`).expect(304);
      await request(app).get(path).set('If-None-Match', `"nope", ${etag}`).expect(304);
      await request(app).get(path).set('If-None-Match', '*').expect(304);
      await request(app).get(path).set('If-None-Match', '"nope"').expect(200);
    });

    it('should keep an ETag the handler set', async () => {
      const path = uniquePath('ownetag');
      const { app } = createApp({ redis }, path, (_req, res) => {
        res.set('ETag', '"v7"').json({ v: 7 });
      });
      expect((await request(app).get(path)).headers.etag).to.equal('"v7"');
      const hit = await request(app).get(path).set('If-None-Match', '"v7"').expect(304);
      expectHit(hit);
    });
  });

  describe("the request's Cache-Control", () => {
    for (const directive of ['no-cache', 'max-age=0']) {
      it(`should refresh the entry on ${directive}`, async () => {
        const path = uniquePath('refresh');
        const { app, origin } = createApp({ redis }, path, jsonCall);
        await request(app).get(path);
        const refreshed = await request(app).get(path).set('Cache-Control', directive);
        expectMiss(refreshed);
        expect(refreshed.body.call).to.equal(2);
        const hit = await request(app).get(path);
        expectHit(hit);
        expect(hit.body.call).to.equal(2);
        expect(origin.calls).to.equal(2);
      });
    }

    it('should neither serve nor store on no-store', async () => {
      const path = uniquePath('nostore');
      const { app, origin } = createApp({ redis }, path, jsonCall);
      const res = await request(app).get(path).set('Cache-Control', 'no-store');
      expect(res.headers['x-cache']).to.equal('BYPASS');
      expect(await entryKeysOf(redis, path)).to.deep.equal([]);
      await request(app).get(path);
      expect((await request(app).get(path).set('Cache-Control', 'no-store')).body.call).to.equal(3);
      expect(origin.calls).to.equal(3);
    });
  });

  describe('poisoning attempts', () => {
    it('should not store a response that reflects an unkeyed header such as X-Forwarded-Host', async () => {
      const path = uniquePath('xfh');
      const { app } = createApp({ redis }, path, (req, res) => {
        res.json({ link: `https://${req.get('x-forwarded-host') ?? 'api.example.com'}/recipes` });
      });
      const poisoned = await request(app).get(path).set('X-Forwarded-Host', 'evil.example.net');
      expect(poisoned.body.link).to.include('evil.example.net');
      const victim = await request(app).get(path);
      expectMiss(victim);
      expect(victim.body.link).to.equal('https://api.example.com/recipes');
    });

    it('should keep responses for another Host apart', async () => {
      const path = uniquePath('host');
      const { app } = createApp({ redis }, path, (req, res) => {
        res.json({ link: `https://${req.hostname}/recipes` });
      });
      await request(app).get(path).set('Host', 'evil.example.net');
      const victim = await request(app).get(path).set('Host', 'api.example.com');
      expectMiss(victim);
      expect(victim.body.link).to.equal('https://api.example.com/recipes');
    });

    it('should let no odd header change what is stored or force a bypass', async () => {
      const path = uniquePath('odd');
      const { app, origin } = createApp({ redis }, path, jsonCall);
      await request(app).get(path).set('X-Original-URL', '/admin').set('X-HTTP-Method-Override', 'DELETE');
      for (const [name, value] of [
        ['X-Cache-Bypass', '1'],
        ['Pragma', 'no-cache'],
        ['X-Cache', 'MISS'],
        ['X-Forwarded-Host', 'elsewhere.example'],
      ]) {
        expectHit(
          await request(app)
            .get(path)
            .set(name as string, value as string),
        );
      }
      expect(origin.calls).to.equal(1);
    });
  });

  describe('per-user caching', () => {
    const session = (req: express.Request, _res: express.Response, next: express.NextFunction) => {
      const match = /sid=([a-z]+)-token/.exec(req.get('cookie') ?? '');
      (req as express.Request & { userId?: string }).userId = match?.[1];
      next();
    };
    const userOf = (req: express.Request) => (req as express.Request & { userId?: string }).userId;

    it("should never let two users see each other's entries", async () => {
      const path = uniquePath('user');
      const { app, origin } = createApp(
        { redis, user: userOf },
        path,
        (req, res) => {
          res.json({ me: userOf(req) ?? 'anonymous' });
        },
        { before: [session] },
      );
      const alice = await request(app).get(path).set('Cookie', 'sid=alice-token');
      const bob = await request(app).get(path).set('Cookie', 'sid=bob-token');
      expect(alice.body.me).to.equal('alice');
      expect(bob.body.me).to.equal('bob');
      expect(alice.headers['cache-control']).to.equal('private, no-cache');
      const alice2 = await request(app).get(path).set('Cookie', 'sid=alice-token');
      expectHit(alice2);
      expect(alice2.body.me).to.equal('alice');
      expect((await request(app).get(path).set('Cookie', 'sid=bob-token')).body.me).to.equal('bob');
      expect((await request(app).get(path)).body.me).to.equal('anonymous');
      expect(origin.calls).to.equal(3);
    });

    it('should not store web cache deception paths (/account/x.css) of an authenticated route', async () => {
      const base = uniquePath('account');
      const app = express();
      let calls = 0;
      app.get(`${base}/*rest`, session, responseCache({ redis }), (req, res) => {
        calls += 1;
        const user = userOf(req);
        if (!user) {
          res.status(401).json({ error: 'login' });
          return;
        }
        res.json({ email: `${user}@example.com` });
      });
      const victim = await request(app).get(`${base}/x.css`).set('Cookie', 'sid=alice-token');
      expect(victim.body.email).to.equal('alice@example.com');
      expect(victim.headers['x-cache']).to.equal('BYPASS');
      const attacker = await request(app).get(`${base}/x.css`);
      expect(attacker.status).to.equal(401);
      expect(attacker.text).to.not.include('alice');
      expect(calls).to.equal(2);
      expect(await entryKeysOf(redis, `${base}/*rest`)).to.deep.equal([]);
    });
  });

  describe('single flight', () => {
    it('should run the handler once for 100 concurrent misses', async () => {
      const path = uniquePath('flight');
      const { app, origin } = createApp({ redis }, path, jsonCall);
      origin.close();
      const server = app.listen(0);
      try {
        const agent = request(server);
        const all = Promise.all(Array.from({ length: 100 }, () => agent.get(path)));
        await waitFor(() => origin.calls === 1, { what: 'the first handler call' });
        origin.open();
        const responses = await all;
        expect(origin.calls).to.equal(1);
        for (const res of responses) expect(res.body).to.deep.equal({ call: 1, path });
      } finally {
        server.close();
      }
    });

    it('should run the handler once across two instances, through the Redis lock', async () => {
      const path = uniquePath('flight2');
      const other = standalone.client();
      const a = createApp({ redis, localTtl: 0 }, path, jsonCall);
      let arrivedAtB = 0;
      const countB: express.RequestHandler = (_req, _res, next) => {
        arrivedAtB += 1;
        next();
      };
      const b = createApp({ redis: other, localTtl: 0 }, path, jsonCall, { before: [countB] });
      a.origin.close();
      const first = request(a.app)
        .get(path)
        .then((res) => res);
      await waitFor(() => a.origin.calls === 1, { what: 'instance A filling' });
      const fromB = Promise.all(Array.from({ length: 10 }, () => request(b.app).get(path)));
      await waitFor(() => arrivedAtB === 10, { what: 'the requests to reach instance B' });
      a.origin.open();
      const [resA, resB] = await Promise.all([first, fromB]);
      expectMiss(resA);
      for (const res of resB) {
        expectHit(res);
        expect(res.body.call).to.equal(1);
      }
      expect(a.origin.calls + b.origin.calls).to.equal(1);
    });
  });

  describe('stale-while-revalidate and stale-if-error (RFC 5861)', () => {
    it('should serve the stale entry while one request refreshes it', async () => {
      const path = uniquePath('swr');
      const { app, origin } = createApp({ redis, ttl: '1s', staleWhileRevalidate: '1m', localTtl: 0 }, path, jsonCall);
      const started = Date.now();
      await request(app).get(path);
      await stored(path);
      await waitFor(() => Date.now() - started > 1100, { what: 'the entry to expire' });
      origin.close();
      const refresher = request(app)
        .get(path)
        .then((res) => res);
      await waitFor(() => origin.calls === 2, { what: 'the refresh to start' });
      const stale = await request(app).get(path);
      expect(stale.headers['x-cache']).to.equal('STALE');
      expect(stale.body.call).to.equal(1);
      origin.open();
      expect((await refresher).body.call).to.equal(2);
      await waitFor(async () => (await request(app).get(path)).body.call === 2, { what: 'the refreshed entry' });
      expect(origin.calls).to.equal(2);
    });

    it('should serve the stale entry when the handler fails', async () => {
      const path = uniquePath('sie');
      let fail = false;
      const { app } = createApp({ redis, ttl: '1s', staleIfError: '1m', localTtl: 0 }, path, (_req, res, call) => {
        if (fail) throw new Error('database down');
        res.json({ call });
      });
      const started = Date.now();
      await request(app).get(path);
      await stored(path);
      await waitFor(() => Date.now() - started > 1100, { what: 'the entry to expire' });
      fail = true;
      const res = await request(app).get(path).expect(200);
      expect(res.headers['x-cache']).to.equal('STALE');
      expect(res.body.call).to.equal(1);
    });

    it('should send the error when there is no stale entry', async () => {
      const path = uniquePath('sie-none');
      const { app } = createApp({ redis, staleIfError: '1m' }, path, () => {
        throw new Error('boom');
      });
      await request(app).get(path).expect(500);
    });
  });

  describe('invalidation', () => {
    it('should drop the responses of a path after a successful PUT to it (RFC 9111 §4.4)', async () => {
      const base = uniquePath('put');
      const { app, origin } = createApp({ redis, localTtl: 0 }, `${base}/:id`, jsonCall);
      await request(app).get(`${base}/1?x=1`);
      await request(app).get(`${base}/2`);
      await stored(`${base}/:id`, 2);
      await request(app).put(`${base}/1`).expect(200);
      await waitFor(async () => (await entryKeysOf(redis, `${base}/:id`)).length === 1, { what: 'path invalidation' });
      expectMiss(await request(app).get(`${base}/1?x=1`));
      expectHit(await request(app).get(`${base}/2`));
      expect(origin.calls).to.equal(3);
    });

    it('should invalidate through responseCache.invalidator() when another handler serves the unsafe request', async () => {
      const path = uniquePath('invalidator');
      const app = express();
      app.use(responseCache.invalidator({ redis }));
      let calls = 0;
      app.get(path, responseCache({ redis, localTtl: 0 }), (_req, res) => {
        calls += 1;
        res.json({ calls });
      });
      app.delete(path, (_req, res) => {
        res.status(204).end();
      });
      app.patch(path, (_req, res) => {
        res.status(500).end();
      });
      await request(app).get(path);
      await stored(path);
      await request(app).patch(path).expect(500);
      expectHit(await request(app).get(path));
      await request(app).delete(path).expect(204);
      await waitFor(async () => (await entryKeysOf(redis, path)).length === 0, { what: 'invalidation on DELETE' });
      expectMiss(await request(app).get(path));
    });

    it('should drop every response with a tag, on every instance, without KEYS or SCAN', async () => {
      const base = uniquePath('tags');
      const tagged = { redis, tags: (req: express.Request) => ['recipes', `recipe:${req.params.id}`] };
      const a = createApp({ ...tagged, localTtl: '1m' }, `${base}/:id`, jsonCall);
      const b = createApp({ ...tagged, redis: standalone.client(), localTtl: '1m' }, `${base}/:id`, jsonCall);
      await request(a.app).get(`${base}/1`);
      await request(a.app).get(`${base}/2`);
      await stored(`${base}/:id`, 2);
      await waitFor(async () => (await request(b.app).get(`${base}/1`)).headers['x-cache'] === 'HIT', {
        what: 'B hitting the entry',
      });
      expectHit(await request(b.app).get(`${base}/1`)); // now from B's local copy
      const monitor = standalone.client();
      const commands: string[] = [];
      const monitoring = await (monitor as Redis).monitor();
      monitoring.on('monitor', (_time: string, args: string[]) => commands.push(String(args[0])));
      expect(await a.cache.invalidate({ tags: ['recipe:1'] })).to.equal(1);
      await waitFor(async () => (await request(b.app).get(`${base}/1`)).headers['x-cache'] === 'MISS', {
        what: 'B seeing the invalidation',
      });
      expectHit(await request(b.app).get(`${base}/2`));
      monitoring.disconnect();
      expect(commands.map((c) => c.toUpperCase())).to.not.include.members(['KEYS', 'SCAN']);
      expect(await b.cache.invalidate({ tags: ['recipes'] })).to.be.greaterThan(0);
      expectMiss(await request(a.app).get(`${base}/2`));
    });

    it('should also drop the same-origin Location of a successful POST', async () => {
      const base = uniquePath('location');
      const app = express();
      const cache = responseCache({ redis, localTtl: 0 });
      let calls = 0;
      app.get(`${base}/items/:id`, cache, (_req, res) => {
        calls += 1;
        res.json({ calls });
      });
      app.post(`${base}/items`, cache, (_req, res) => {
        res.status(201).location(`${base}/items/7`).json({ id: 7 });
      });
      await request(app).get(`${base}/items/7`);
      await stored(`${base}/items/:id`);
      await request(app).post(`${base}/items`).expect(201);
      await waitFor(async () => (await entryKeysOf(redis, `${base}/items/:id`)).length === 0, {
        what: 'Location invalidation',
      });
      expect(calls).to.equal(1);
    });

    it('should not serve an entry older than the request max-age', async () => {
      const path = uniquePath('reqmaxage');
      const { app, origin } = createApp({ redis, ttl: '1m', localTtl: 0 }, path, jsonCall);
      const started = Date.now();
      await request(app).get(path);
      await stored(path);
      await waitFor(() => Date.now() - started > 1100, { what: 'the entry to be over 1 s old' });
      expectHit(await request(app).get(path).set('Cache-Control', 'max-age=60'));
      expectMiss(await request(app).get(path).set('Cache-Control', 'max-age=1'));
      expect(origin.calls).to.equal(2);
    });

    it('should drop every response of a route', async () => {
      const base = uniquePath('route');
      const { app, cache } = createApp({ redis, localTtl: 0 }, `${base}/:id`, jsonCall);
      await request(app).get(`${base}/1`);
      await request(app).get(`${base}/2?q=1`);
      await stored(`${base}/:id`, 2);
      expect(await cache.invalidate({ routes: [`${base}/:id`] })).to.equal(2);
      expect(await entryKeysOf(redis, `${base}/:id`)).to.deep.equal([]);
      expect(await cache.invalidate({ paths: [`${base}/3`] })).to.equal(0);
    });

    it('should keep the index sets bounded by the entries TTLs', async () => {
      const base = uniquePath('ttlidx');
      const { app } = createApp({ redis, ttl: '1m', tags: () => ['t'] }, `${base}/:id`, jsonCall);
      await request(app).get(`${base}/1`);
      await stored(`${base}/:id`);
      const keys = (await apiKeysOf(redis, `${base}/:id`)).filter((key) => !key.endsWith('.lock'));
      expect(keys).to.have.length.greaterThan(1);
      for (const key of keys) {
        expect(await redis.pttl(key), key).to.be.within(1, 24 * 3600_000);
      }
    });
  });
});
