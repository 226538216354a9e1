import { expect } from 'chai';
import express, { type Express } from 'express';
import request from 'supertest';
import { createRedis, type RedisClient } from '../lib/redis';
import { type ResponseCacheOptions, ResponseInvalidationError, responseCache } from '../lib/response-cache';
import { invalidationPathOf } from '../lib/response-cache/key';
import { PENDING_WARNING, pendingOn, pendingReason } from '../lib/response-cache/pending';
import { uniquePath } from './fixtures/response-cache-app';
import { Standalone, waitFor } from './support';

/** A small item API: GET through the cache, PUT bumps the item's version (the "database"). */
function createItems(redis: RedisClient, options: ResponseCacheOptions = {}) {
  const prefix = uniquePath('pending');
  const versions = new Map<string, number>();
  const tag = (id: string): string => `item:${prefix}:${id}`;
  /** An instance of the API whose cache uses `client`. */
  const instance = (client: RedisClient) => {
    const cache = responseCache({
      redis: client,
      redisTimeout: '200ms',
      ttl: '5m',
      tags: (req) => [tag(String(req.params.id))],
      ...options,
    });
    const app: Express = express();
    app.get(`${prefix}/:id`, cache, (req, res) => {
      res.json({ id: req.params.id, version: versions.get(String(req.params.id)) ?? 1 });
    });
    app.put(`${prefix}/:id`, cache, (req, res) => {
      const id = String(req.params.id);
      versions.set(id, (versions.get(id) ?? 1) + 1);
      res.json({ updated: true });
    });
    return { app, cache };
  };
  return { ...instance(redis), instance, versions, tag, path: (id: string): string => `${prefix}/${id}` };
}

/** Collects the console.warn lines carrying `code` until `stop()`. */
function captureWarnings(code: string): { lines: string[]; stop: () => void } {
  const original = console.warn;
  const lines: string[] = [];
  console.warn = (...args: unknown[]) => {
    const line = args.map(String).join(' ');
    if (line.includes(code)) lines.push(line);
    else original(...args);
  };
  const stop = (): void => {
    console.warn = original;
  };
  return { lines, stop };
}

describe('responseCache() when an invalidation cannot reach Redis', function () {
  this.timeout(60_000);
  let standalone: Standalone;
  let redis: RedisClient;
  before(async () => {
    standalone = await Standalone.start();
    redis = standalone.client({ commandTimeout: 200 });
  });
  after(() => standalone.stop());
  // Only this file's clients: a client another file left behind (its Redis stopped) may still be retrying.
  afterEach(() => waitFor(() => !pendingOn(redis), { what: 'no invalidation pending after the test' }));

  const hitOf = async (app: Express, path: string) =>
    waitFor(async () => (await request(app).get(path)).headers['x-cache'] === 'HIT', { what: `a HIT on ${path}` });

  describe('while Redis is frozen during a write', () => {
    it('should never serve a response cached before the write once Redis answers: BYPASS until the retry lands, then fresh', async () => {
      const items = createItems(redis);
      await hitOf(items.app, items.path('a'));
      await hitOf(items.app, items.path('b'));
      const warnings = captureWarnings(PENDING_WARNING);
      let rejection: unknown;
      try {
        standalone.node.freeze();
        try {
          // A successful PUT: its automatic invalidation of the path fails once the response is sent.
          await request(items.app).put(items.path('a')).expect(200);
          // An explicit invalidation after a write to b.
          items.versions.set('b', 2);
          rejection = await items.cache.invalidate({ tags: [items.tag('b')] }).then(
            () => undefined,
            (error: unknown) => error,
          );
          const pathA = { endpoint: 'other', path: invalidationPathOf(items.path('a')), tags: [] };
          await waitFor(() => pendingReason(pathA, redis) !== undefined, {
            what: 'the PUT invalidation to be pending',
          });
        } finally {
          standalone.node.resume();
        }
      } finally {
        warnings.stop();
      }
      expect(rejection).to.be.instanceOf(ResponseInvalidationError);
      expect((rejection as ResponseInvalidationError).code).to.equal('E_RESPONSE_CACHE_INVALIDATION');
      expect((rejection as ResponseInvalidationError).targets.tags).to.deep.equal([items.tag('b')]);
      expect(warnings.lines, 'one warning line for the outage, not one per write').to.have.length(1);

      // Every response from now on is BYPASS (from the handler) or the updated one, never the entry from before.
      for (const id of ['a', 'b']) {
        const served: string[] = [];
        const stale: string[] = [];
        const res = await waitFor(
          async () => {
            const res = await request(items.app).get(items.path(id)).expect(200);
            const state = String(res.headers['x-cache']);
            served.push(state);
            if (res.body.version !== 2) stale.push(`${state} version ${res.body.version}`);
            return state === 'BYPASS' ? undefined : res;
          },
          { what: `the cache to serve ${id} again once Redis answers` },
        );
        expect(stale, `responses to ${id} after resume (${served.join(', ')})`).to.deep.equal([]);
        expect(res.body.version).to.equal(2);
        const hit = await hitOf(items.app, items.path(id)).then(() => request(items.app).get(items.path(id)));
        expect(hit.body.version, `the entry stored after the retry for ${id}`).to.equal(2);
      }
      expect(pendingOn(redis)).to.equal(false);
    });
  });

  describe('while the invalidation keeps failing but Redis answers reads', () => {
    /** A client whose user may not run scripts: reads work, invalidations (Lua) fail with NOPERM. */
    let noScripts: RedisClient;
    const user = `rc-noscripts-${Date.now()}`;
    before(async () => {
      await redis.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-@scripting');
      noScripts = createRedis(standalone.url.replace('redis://', `redis://${user}:pw@`));
      noScripts.on('error', () => undefined);
    });
    after(async () => {
      noScripts.disconnect();
      await redis.call('ACL', 'DELUSER', user);
    });

    it("should neither serve nor store the pending target's responses (for every cache on that client), leave other targets alone, and resume when the retry lands", async () => {
      const items = createItems(redis, { localTtl: 0 });
      await hitOf(items.app, items.path('x'));
      await hitOf(items.app, items.path('y'));
      // Another instance whose client can read but not run scripts (so its invalidations fail).
      const other = items.instance(noScripts);
      expect((await request(other.app).get(items.path('y'))).headers['x-cache']).to.equal('HIT');
      const warnings = captureWarnings(PENDING_WARNING);
      try {
        items.versions.set('x', 2);
        // Through another backend of the same client (another redisTimeout): it holds back the cache too.
        const error = await responseCache
          .invalidate({ redis: noScripts, redisTimeout: '1s' }, { tags: [items.tag('x')] })
          .then(
            () => undefined,
            (cause: unknown) => cause,
          );
        expect(error).to.be.instanceOf(ResponseInvalidationError);
        expect(pendingOn(redis, noScripts)).to.equal(true);
        for (let i = 0; i < 3; i++) {
          const res = await request(other.app).get(items.path('x')).expect(200);
          expect(res.headers['x-cache']).to.equal('BYPASS');
          expect(res.body.version).to.equal(2);
          expect((await request(other.app).get(items.path('y'))).headers['x-cache'], 'another tag').to.equal('HIT');
        }
        // The instance on the healthy client never heard of it (pending is per process and client): the TTL is its backstop.
        expect((await request(items.app).get(items.path('x'))).body.version).to.equal(1);
        await redis.call('ACL', 'SETUSER', user, '+@scripting');
        await waitFor(() => !pendingOn(redis, noScripts), { what: 'the background retry to land' });
      } finally {
        warnings.stop();
      }
      expect(warnings.lines).to.have.length(1);
      for (const app of [other.app, items.app]) {
        const again = await request(app).get(items.path('x')).expect(200);
        expect(again.headers['x-cache']).to.not.equal('BYPASS');
        expect(again.body.version).to.equal(2);
      }
    });
  });

  describe('in normal operation', () => {
    it('should have nothing pending and serve a hit with one Redis command, without bypassing', async () => {
      const items = createItems(redis, { localTtl: 0 });
      await hitOf(items.app, items.path('n'));
      expect(pendingOn(redis)).to.equal(false);
      const processed = async () => Number((await standalone.node.info('stats')).total_commands_processed);
      const idle = -(await processed()) + (await processed()); // INFO itself
      const before = await processed();
      const res = await request(items.app).get(items.path('n')).expect(200);
      const after = await processed();
      expect(res.headers['x-cache']).to.equal('HIT');
      expect(after - before - idle, 'Redis commands of one hit').to.equal(1);
    });

    it('should clear nothing and warn nothing when invalidations succeed', async () => {
      const items = createItems(redis);
      const warnings = captureWarnings(PENDING_WARNING);
      try {
        await hitOf(items.app, items.path('m'));
        await request(items.app).put(items.path('m')).expect(200);
        expect(await items.cache.invalidate({ tags: [items.tag('m')] })).to.be.a('number');
      } finally {
        warnings.stop();
      }
      expect(pendingOn(redis)).to.equal(false);
      expect(warnings.lines).to.deep.equal([]);
      await waitFor(async () => (await request(items.app).get(items.path('m'))).body.version === 2, {
        what: 'the update after the PUT',
      });
    });
  });
});
