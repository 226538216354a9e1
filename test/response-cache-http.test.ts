import { expect } from 'chai';
import type { Request, Response } from 'express';
import request from 'supertest';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import { bypassReasons, skipReasons as closedSkipReasons } from '../lib/common/reasons';
import type { RedisClient } from '../lib/redis';
import { type ResponseCacheOptions, responseCache } from '../lib/response-cache';
import { createApp, entryKeysOf, expectHit, expectMiss, uniquePath } from './fixtures/response-cache-app';
import { type Standalone, sharedStandalone, waitFor } from './support';

/** An HTTP-date `seconds` from now. */
const httpDate = (seconds: number): string => new Date(Date.now() + seconds * 1000).toUTCString();

describe('responseCache() HTTP semantics', () => {
  let standalone: Standalone;
  let redis: RedisClient;
  let events: MiddlewareEvent[];
  let stopEvents: () => void;
  before(async () => {
    standalone = await sharedStandalone();
    redis = standalone.client();
  });
  beforeEach(() => {
    events = [];
    stopEvents = onEvent((event) => events.push(event));
  });
  afterEach(() => stopEvents());

  const skipReasons = (): string[] =>
    events.flatMap((e) => (e.kind === 'cache' && e.outcome === 'skip' ? [String(e.reason)] : []));
  const stored = (endpoint: string) =>
    waitFor(async () => (await entryKeysOf(redis, endpoint)).length === 1, { what: `the entry of ${endpoint}` });

  /** A route whose handler answers with `headers` (and a body naming the call); the first request is a MISS. */
  async function routeWith(
    headers: Record<string, string | string[]>,
    options: Omit<ResponseCacheOptions, 'redis'> = {},
    status = 200,
  ) {
    const path = uniquePath('http');
    const setup = createApp({ redis, localTtl: 0, ...options }, path, (_req: Request, res: Response, call) => {
      res.status(status).set(headers).send(`call ${call}`);
    });
    const first = await request(setup.app).get(path);
    expectMiss(first);
    return { ...setup, path, first };
  }

  /** Asserts the route's first response was not stored, for `reason`. */
  async function expectNotStored(setup: Awaited<ReturnType<typeof routeWith>>, reason: string): Promise<void> {
    expect(skipReasons()).to.include(reason);
    expectMiss(await request(setup.app).get(setup.path));
    expect(setup.origin.calls).to.equal(2);
  }

  describe('freshness (RFC 9111 §4.2)', () => {
    for (const [label, expires] of [
      ['in the past', httpDate(-60)],
      ['0', '0'],
      ['not an HTTP-date', 'Thu, 18 Aug 2050 02:01:18 UTC'],
    ] as const) {
      it(`should not store a response whose Expires is ${label}, whatever the ttl`, async () => {
        await expectNotStored(await routeWith({ Expires: expires }, { ttl: '1h' }), 'not-fresh');
      });
    }

    it('should store a response with a future Expires for Expires − Date, the ttl being the cap', async () => {
      const setup = await routeWith({ Date: new Date().toUTCString(), Expires: httpDate(30) }, { ttl: '1h' });
      await stored(setup.path);
      const [key] = await entryKeysOf(redis, setup.path);
      // Expires − Date (30 s), plus the time an entry with a validator is kept for revalidation (here none).
      expect(await redis.pttl(key as string)).to.be.within(25_000, 30_000);
      const capped = await routeWith({ Expires: httpDate(7200) }, { ttl: '10s' });
      await stored(capped.path);
      const [cappedKey] = await entryKeysOf(redis, capped.path);
      expect(await redis.pttl(cappedKey as string)).to.be.within(5_000, 10_000);
    });

    for (const [label, cacheControl] of [
      ['negative', 'max-age=-1'],
      ['quoted', 'max-age="3600"'],
      ['fractional', 'max-age=1.5'],
    ] as const) {
      it(`should take a ${label} max-age as stale, not as absent`, async () => {
        await expectNotStored(await routeWith({ 'Cache-Control': cacheControl }, { ttl: '1h' }), 'not-fresh');
      });
    }

    it('should prefer s-maxage to max-age, and max-age to Expires', async () => {
      await expectNotStored(await routeWith({ 'Cache-Control': 's-maxage=0, max-age=3600' }), 'not-fresh');
      events = [];
      await expectNotStored(await routeWith({ 'Cache-Control': 'max-age=0', Expires: httpDate(3600) }), 'not-fresh');
    });

    it('should subtract an upstream Age, and serve it back with the resident time added', async () => {
      await expectNotStored(await routeWith({ 'Cache-Control': 'max-age=60', Age: '120' }), 'not-fresh');
      const setup = await routeWith({ 'Cache-Control': 'max-age=3600', Age: '3000' }, { ttl: '1d' });
      await stored(setup.path);
      const hit = await request(setup.app).get(setup.path);
      expectHit(hit);
      expect(Number(hit.headers.age)).to.be.within(3000, 3010);
      const [key] = await entryKeysOf(redis, setup.path);
      expect(await redis.pttl(key as string)).to.be.within(590_000, 600_000);
    });

    it('should pass Date, Expires and the handler Cache-Control through unchanged on hits', async () => {
      const date = new Date(Date.now() - 5000).toUTCString();
      const expires = httpDate(600);
      const setup = await routeWith({ Date: date, Expires: expires, 'Cache-Control': 'public, max-age=600' });
      await stored(setup.path);
      const hit = await request(setup.app).get(setup.path);
      expectHit(hit);
      expect(hit.headers.date).to.equal(date);
      expect(hit.headers.expires).to.equal(expires);
      expect(hit.headers['cache-control']).to.equal('public, max-age=600');
      expect(Number(hit.headers.age)).to.be.within(5, 15);
    });

    it('should serve the Date of the stored response on hits when the handler set none', async () => {
      const setup = await routeWith({});
      await stored(setup.path);
      const hit = await request(setup.app).get(setup.path);
      expect(hit.headers.date).to.equal(setup.first.headers.date);
    });
  });

  describe('storable statuses (RFC 9111 §3)', () => {
    for (const status of [302, 307, 308, 404, 503]) {
      it(`should store a ${status} its own headers make explicitly fresh, whatever statuses says`, async () => {
        const setup = await routeWith({ 'Cache-Control': 'max-age=60', Location: '/elsewhere' }, {}, status);
        await stored(setup.path);
        const hit = await request(setup.app).get(setup.path);
        expectHit(hit);
        expect(hit.status).to.equal(status);
      });
    }

    it('should store a status without explicit freshness on the ttl only when statuses lists it', async () => {
      await expectNotStored(await routeWith({}, {}, 404), 'status');
      const listed = await routeWith({}, { statuses: [404] }, 404);
      await stored(listed.path);
      expectHit(await request(listed.app).get(listed.path));
    });

    it('should never store a 206, whatever its headers say', async () => {
      await expectNotStored(await routeWith({ 'Cache-Control': 'max-age=60' }, {}, 206), 'status');
    });
  });

  describe("ttl: 'response'", () => {
    it('should not store a response whose headers say nothing', async () => {
      await expectNotStored(await routeWith({}, { ttl: 'response', statuses: [200, 404] }), 'not-fresh');
    });

    it('should store a response for as long as its headers say, beyond any default ttl', async () => {
      const setup = await routeWith({ 'Cache-Control': 's-maxage=7200' }, { ttl: 'response' });
      await stored(setup.path);
      const [key] = await entryKeysOf(redis, setup.path);
      expect(await redis.pttl(key as string)).to.be.within(7_190_000, 7_200_000);
      expectHit(await request(setup.app).get(setup.path));
    });

    it('should throw a TypeError naming ttl and its accepted values', () => {
      expect(() => responseCache({ ttl: 'forever' as '5m' })).to.throw(TypeError, /ttl option .*or 'response'/);
    });
  });

  describe('what clients are told', () => {
    it('should send Cache-Control: no-cache with the ETag when the handler set no Cache-Control', async () => {
      const setup = await routeWith({});
      expect(setup.first.headers['cache-control']).to.equal('no-cache');
      expect(setup.first.headers.etag).to.match(/^"/);
      await stored(setup.path);
      const revalidation = await request(setup.app)
        .get(setup.path)
        .set('If-None-Match', setup.first.headers.etag as string);
      expect(revalidation.status).to.equal(304);
      expect(revalidation.headers['cache-control']).to.equal('no-cache');
      expect(setup.origin.calls).to.equal(1);
    });

    it('should send max-age=min(clientMaxAge, remaining) with clientMaxAge', async () => {
      const short = await routeWith({}, { clientMaxAge: '30s', ttl: '1h' });
      expect(short.first.headers['cache-control']).to.equal('max-age=30');
      await stored(short.path);
      expect((await request(short.app).get(short.path)).headers['cache-control']).to.match(/^max-age=(29|30)$/);
      const remaining = await routeWith({}, { clientMaxAge: '1h', ttl: '10s' });
      expect(remaining.first.headers['cache-control']).to.match(/^max-age=(9|10)$/);
    });

    it('should pass the handler Cache-Control through unchanged, clientMaxAge or not', async () => {
      const setup = await routeWith({ 'Cache-Control': 'public, max-age=5' }, { clientMaxAge: '1h' });
      expect(setup.first.headers['cache-control']).to.equal('public, max-age=5');
    });

    it('should throw a TypeError naming a bad clientMaxAge', () => {
      expect(() => responseCache({ clientMaxAge: 'a while' as '5m' })).to.throw(TypeError, /clientMaxAge option/);
    });
  });

  describe('HEAD', () => {
    it('should give a HEAD miss the same strong ETag and Cache-Control as GET, and store the entry GET uses', async () => {
      const path = uniquePath('head');
      const { app, origin } = createApp({ redis, localTtl: 0 }, path, (_req, res, call) => {
        res.json({ recipe: 'soup', call: call > 0 ? 1 : 0 });
      });
      const head = await request(app).head(path);
      expectMiss(head);
      expect(head.headers.etag).to.match(/^"/); // strong: not Express's W/"…"
      expect(head.headers['cache-control']).to.equal('no-cache');
      await stored(path);
      const get = await request(app).get(path);
      expectHit(get);
      expect(get.headers.etag).to.equal(head.headers.etag);
      expect(get.body).to.deep.equal({ recipe: 'soup', call: 1 });
      const conditional = await request(app)
        .head(path)
        .set('If-None-Match', head.headers.etag as string);
      expect(conditional.status).to.equal(304);
      expect(origin.calls).to.equal(1);
    });
  });

  describe('Vary', () => {
    it('should serve a request made while the first varying response is being stored from that entry', async () => {
      const path = uniquePath('vary-now');
      const { app } = createApp({ redis, localTtl: 0 }, path, async (_req, res, call) => {
        // Writes wait 300 ms: the store of this response is still under way when the next request looks up.
        if (call === 1) await standalone.node.command('CLIENT', 'PAUSE', '300', 'WRITE');
        res.vary('Foo').set('Cache-Control', 'max-age=600').send(`call ${call}`);
      });
      expectMiss(await request(app).get(path).set('Foo', '1'));
      const next = await request(app).get(path).set('Foo', '1');
      expectHit(next);
      expect(next.text).to.equal('call 1');
    });
  });

  describe('revalidation (RFC 9111 §4.3)', () => {
    it("should send a stale entry's own ETag to the handler and serve the stored body on its 304", async () => {
      const path = uniquePath('revalidate');
      const seen: Array<string | undefined> = [];
      const { app, origin } = createApp({ redis, localTtl: 0 }, path, (req, res) => {
        seen.push(req.headers['if-none-match']);
        res.set({ ETag: '"v1"', 'Cache-Control': 'max-age=1', 'X-Version': String(seen.length) });
        if (req.headers['if-none-match'] === '"v1"') res.status(304).end();
        else res.send('the body');
      });
      await request(app).get(path);
      await stored(path);
      const renewed = await waitFor(
        async () => {
          const res = await request(app).get(path);
          return res.headers['x-cache'] === 'REVALIDATED' ? res : undefined;
        },
        { what: 'a revalidated response', intervalMs: 200 },
      );
      expect(renewed.status).to.equal(200);
      expect(renewed.text).to.equal('the body');
      expect(renewed.headers['x-version']).to.equal(String(origin.calls)); // the 304's headers win
      expect(seen[0]).to.equal(undefined);
      expect(seen.at(-1)).to.equal('"v1"');
    });
  });

  describe('skip reasons', () => {
    it('should be short words of the closed list, never text the client sent', async () => {
      const path = uniquePath('reflect');
      const { app } = createApp({ redis }, path, (req, res) => {
        res.send(`hello ${req.headers['x-probe-0']}`);
      });
      await request(app).get(path).set('X-Probe-0', 'evil-host.example');
      expect(skipReasons()).to.deep.equal(['unkeyed-header']);
      await request(app).get(path).set('Cache-Control', 'no-store').set('Authorization', 'Bearer x');
      await request(app).get(path).set('Authorization', 'Bearer x');
      const closed: readonly string[] = [...bypassReasons, ...closedSkipReasons];
      const reasons = events.flatMap((e) => (e.kind === 'cache' && 'reason' in e ? [e.reason] : []));
      expect(reasons).to.deep.equal(['unkeyed-header', 'no-store', 'authorization']);
      for (const reason of reasons) expect(closed).to.include(reason);
    });
  });
});
