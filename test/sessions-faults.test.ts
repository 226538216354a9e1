import { expect } from 'chai';
import request from 'supertest';
import type { RedisClient } from '../lib/redis';
import { type SessionStore, type SessionsMiddleware, sessions } from '../lib/sessions';
import { cookieOf, createApp, keyOf, setCookieOf, sidOf } from './fixtures/sessions-app';
import { type RedisCluster, SentinelGroup, Standalone, sharedCluster, waitFor } from './support';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
/** Generous: the client's bound is 500 ms; nothing may come near a hung request. */
const BOUND_MS = 2000;

type App = ReturnType<typeof createApp>;

async function timed(run: () => Promise<request.Response>): Promise<{ res: request.Response; ms: number }> {
  const started = Date.now();
  const res = await run();
  return { res, ms: Date.now() - started };
}

async function loginWith(app: App, name = 'ann'): Promise<string> {
  return cookieOf(await request(app).post('/login').send({ name }).expect(200));
}

function expectUnavailable(res: request.Response): void {
  expect(res.status).to.equal(503);
  expect(res.headers['retry-after']).to.equal('1');
  expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
  expect(res.body).to.include({ status: 503, code: 'E_SESSION_UNAVAILABLE', title: 'Session store unavailable' });
}

describe('sessions() when Redis fails', () => {
  describe('when Redis is stopped or frozen', () => {
    let standalone: Standalone;
    let client: RedisClient;
    let middleware: SessionsMiddleware;
    let app: App;

    before(async () => {
      standalone = await Standalone.start();
      client = standalone.client();
      middleware = sessions({ redis: client, secret: SECRET });
      app = createApp(middleware);
    });
    after(async () => {
      middleware.close();
      standalone.node.resume();
      await standalone.stop();
    });

    it('should answer 503 with Retry-After on routes that need a session, within the bound', async () => {
      const cookie = await loginWith(app);
      const disconnected = new Promise<void>((resolve) => middleware.store.once('disconnect', resolve));
      await standalone.node.kill();
      for (let i = 0; i < 3; i++) {
        const { res, ms } = await timed(() => request(app).get('/me').set('Cookie', cookie));
        expectUnavailable(res);
        expect(ms).to.be.below(BOUND_MS);
      }
      await disconnected;
      const login = await timed(() => request(app).post('/login').set('Cookie', cookie).send({ name: 'x' }));
      expectUnavailable(login.res);
      expect(login.ms).to.be.below(BOUND_MS);
    });

    it('should go on without a session and send no cookie on routes that do not need one', async () => {
      for (const headers of [{}, { Cookie: 'sid=s%3Aabc.def' }]) {
        const { res, ms } = await timed(() => request(app).get('/public').set(headers));
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal({ hasSession: false });
        expect(res.headers['set-cookie']).to.equal(undefined);
        expect(ms).to.be.below(BOUND_MS);
      }
    });

    it('should clear the cookie at logout and report that the key could not be deleted', async () => {
      const res = await request(app).post('/logout').set('Cookie', 'sid=s%3Aabc.def');
      expectUnavailable(res);
      expect(setCookieOf(res)).to.match(/^sid=; Path=\/; Expires=Thu, 01 Jan 1970/);
    });

    it('should reconnect and serve sessions again once Redis is back', async () => {
      const connected = new Promise<void>((resolve) => middleware.store.once('connect', resolve));
      await standalone.node.restart();
      await connected;
      await waitFor(async () => (await request(app).post('/login').send({ name: 'back' })).status === 200, {
        what: 'logins to work again',
      });
      const cookie = await loginWith(app, 'back');
      await request(app).get('/me').set('Cookie', cookie).expect(200);
    });

    it('should bound every request while Redis is frozen, then recover without losing sessions', async () => {
      const cookie = await loginWith(app, 'frozen');
      standalone.node.freeze();
      try {
        for (let i = 0; i < 3; i++) {
          const me = await timed(() => request(app).get('/me').set('Cookie', cookie));
          expectUnavailable(me.res);
          expect(me.ms).to.be.below(BOUND_MS);
          const open = await timed(() => request(app).get('/public').set('Cookie', cookie));
          expect(open.res.status).to.equal(200);
          expect(open.res.headers['set-cookie']).to.equal(undefined);
          expect(open.ms).to.be.below(BOUND_MS);
        }
        const login = await timed(() => request(app).post('/login').set('Cookie', cookie).send({ name: 'x' }));
        expect(login.res.status).to.equal(503);
        expect(login.ms).to.be.below(BOUND_MS);
      } finally {
        standalone.node.resume();
      }
      const me = await waitFor(
        async () => {
          const res = await request(app).get('/me').set('Cookie', cookie);
          return res.status === 200 ? res : undefined;
        },
        { what: 'the session to be served again' },
      );
      expect(me.body).to.deep.equal({ user: { name: 'frozen' } });
    });
  });

  describe('on a Sentinel failover', function () {
    this.timeout(120_000);
    let group: SentinelGroup;
    let middleware: SessionsMiddleware;

    before(async () => {
      group = await SentinelGroup.start();
    });
    after(async () => {
      middleware?.close();
      await group.stop();
    });

    it('should keep sessions written more than a second before it, and never hang a request', async () => {
      const client = group.client();
      middleware = sessions({ redis: client, secret: SECRET });
      const app = createApp(middleware);
      const cookies = await Promise.all(['p', 'q', 'r'].map((name) => loginWith(app, name)));
      const oldPrimary = await group.primary();
      const replicas = group.nodes.filter((node) => node !== oldPrimary);
      await waitFor(
        async () => {
          for (const replica of replicas) {
            for (const cookie of cookies) if ((await replica.command('EXISTS', keyOf(cookie))) !== 1) return false;
          }
          return true;
        },
        { what: 'the sessions to reach every replica' },
      );
      const written = Date.now();
      await waitFor(() => Date.now() - written > 1000, { what: 'a second to pass' });
      await oldPrimary.kill();
      const statuses = new Set<number>();
      await waitFor(
        async () => {
          const { res, ms } = await timed(() =>
            request(app)
              .get('/me')
              .set('Cookie', cookies[0] as string),
          );
          expect(ms).to.be.below(BOUND_MS);
          statuses.add(res.status);
          return res.status === 200;
        },
        { what: 'sessions to be served by the new primary', timeoutMs: 60_000, intervalMs: 200 },
      );
      expect([...statuses].every((status) => status === 200 || status === 503)).to.equal(true);
      expect((await group.primary()) === oldPrimary).to.equal(false);
      for (const [i, cookie] of cookies.entries()) {
        const me = await request(app).get('/me').set('Cookie', cookie).expect(200);
        expect(me.body).to.deep.equal({ user: { name: ['p', 'q', 'r'][i] } });
      }
      await loginWith(app, 'after-failover');
    });
  });

  describe('on a Redis Cluster', () => {
    let cluster: RedisCluster;
    let middleware: SessionsMiddleware;
    let store: SessionStore;
    let app: App;

    before(async () => {
      cluster = await sharedCluster();
      middleware = sessions({ redis: cluster.client(), secret: SECRET });
      store = middleware.store as SessionStore;
      app = createApp(middleware);
      await store.clear();
    });
    after(async () => {
      await store.clear();
      middleware.close();
    });

    it('should store and share sessions', async () => {
      const cookie = await loginWith(app, 'clustered');
      const second = sessions({ redis: cluster.client(), secret: SECRET });
      const other = createApp(second);
      const me = await request(other).get('/me').set('Cookie', cookie).expect(200);
      expect(me.body).to.deep.equal({ user: { name: 'clustered' } });
      await request(app).post('/logout').set('Cookie', cookie).expect(204);
      await request(other).get('/me').set('Cookie', cookie).expect(401);
      second.close();
    });

    it('should list, count, read and clear sessions on every primary', async () => {
      const names = Array.from({ length: 30 }, (_, i) => `c${i}`);
      const cookies = await Promise.all(names.map((name) => loginWith(app, name)));
      const primaries = await cluster.primaries();
      const perPrimary = await Promise.all(
        primaries.map(async (node) => {
          const [, keys] = (await node.command('SCAN', '0', 'MATCH', 'session:*', 'COUNT', '10000')) as [
            string,
            string[],
          ];
          return keys.length;
        }),
      );
      expect(perPrimary.filter((count) => count > 0).length).to.be.at.least(2);
      expect(await store.length()).to.equal(30);
      expect(((await store.ids()) as string[]).sort()).to.deep.equal(cookies.map(sidOf).sort());
      const all = (await store.all()) as Array<{ id: string; user: { name: string } }>;
      expect(all.map((s) => s.user.name).sort()).to.deep.equal([...names].sort());
      await store.clear();
      expect(await store.length()).to.equal(0);
      for (const node of primaries) {
        const [, keys] = (await node.command('SCAN', '0', 'MATCH', 'session:*', 'COUNT', '10000')) as [
          string,
          string[],
        ];
        expect(keys).to.have.length(0);
      }
    });
  });
});
