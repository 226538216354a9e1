import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import { resetWarnings } from '../lib/common/log';
import type { RedisClient } from '../lib/redis';
import { type SessionsMiddleware, type SessionsOptions, sessions } from '../lib/sessions';
import { captureWarnings, cookieOf, createApp, keyOf, listen, setCookieOf, sidOf } from './fixtures/sessions-app';
import { sharedStandalone, waitFor } from './support';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

describe('sessions()', () => {
  let redis: RedisClient;
  const mounted: SessionsMiddleware[] = [];
  const mount = (options: Partial<SessionsOptions> = {}): SessionsMiddleware => {
    const middleware = sessions({ redis, secret: SECRET, ...options });
    mounted.push(middleware);
    return middleware;
  };
  const loginWith = async (app: Parameters<typeof request>[0], name = 'ann'): Promise<string> => {
    const res = await request(app).post('/login').send({ name }).expect(200);
    return cookieOf(res);
  };

  before(async () => {
    redis = (await sharedStandalone()).client();
  });
  after(() => {
    for (const middleware of mounted) middleware.close();
  });

  describe('options', () => {
    it('should require a secret', () => {
      expect(() => sessions({ redis } as unknown as SessionsOptions)).to.throw(TypeError, /^secret option is required/);
      expect(() => sessions({ redis, secret: [] })).to.throw(TypeError, /^secret option is required/);
      expect(() => sessions({ redis, secret: '' })).to.throw(TypeError, /^secret option is required/);
    });

    it('should name the option and the accepted values', () => {
      const bad: Array<[Partial<SessionsOptions>, RegExp]> = [
        [{ ttl: 'forever' as never }, /^ttl option must be a duration/],
        [{ maxLifetime: 'x' as never }, /^maxLifetime option must be a duration/],
        [{ touchAfter: -1 }, /^touchAfter option must be a duration/],
        [{ rolling: 'yes' as never }, /^rolling option must be true or false/],
        [{ maxSize: 10 }, /^maxSize option must be a whole number of at least 256/],
        [{ name: 'bad name' }, /^name option must be a cookie name/],
        [{ cookie: { sameSite: 'loose' as never } }, /^cookie.sameSite option must be one of 'lax', 'strict', 'none'/],
        [{ cookie: { secure: 'yes' as never } }, /^cookie.secure option must be true, false or 'auto'/],
        [{ cookie: { sameSite: 'none', secure: false } }, /^cookie.sameSite option 'none' requires cookie.secure/],
        [{ cookie: { path: 'no-slash' } }, /^cookie.path option must be a path starting with '\/'/],
        [{ redis: {} as never }, /^redis option must be an ioredis Redis or Cluster client/],
        [{ redisTimeout: '1y' as never }, /^redisTimeout option must be a duration/],
      ];
      for (const [options, message] of bad) {
        expect(() => sessions({ redis, secret: SECRET, ...options }), JSON.stringify(options)).to.throw(
          TypeError,
          message,
        );
      }
      expect(() => sessions(null as never)).to.throw(TypeError, /^sessions\(\) takes one options object/);
    });

    it('should warn once about a short secret', async () => {
      resetWarnings();
      const { lines } = await captureWarnings(async () => {
        mount({ secret: 'short' }).close();
        mount({ secret: [SECRET, 'also-short'] }).close();
      });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/W_SESSION_SECRET_SHORT: a session secret is shorter than 32 characters/);
    });
  });

  describe('cookies', () => {
    it('should set no cookie and write no key for an anonymous visitor', async () => {
      const app = createApp(mount());
      const res = await request(app).get('/public').expect(200);
      expect(res.body).to.deep.equal({ hasSession: true });
      expect(res.headers['set-cookie']).to.equal(undefined);
    });

    it('should default to HttpOnly, SameSite=Lax, a 24 h expiry and no Secure over plain HTTP', async () => {
      const res = await request(createApp(mount())).post('/login').expect(200);
      const line = setCookieOf(res) as string;
      expect(line).to.match(/^sid=s%3A[\w-]{32}\./);
      expect(line)
        .to.match(/; HttpOnly/)
        .and.match(/; SameSite=Lax/)
        .and.not.match(/Secure/);
      const expires = Date.parse(/Expires=([^;]+)/.exec(line)?.[1] ?? '');
      expect(expires - Date.now()).to.be.within(86_380_000, 86_401_000);
    });

    it('should mark the cookie Secure when a trusted proxy says the request is HTTPS', async () => {
      const trusted = createApp(mount(), { trustProxy: true });
      const res = await request(trusted).post('/login').set('X-Forwarded-Proto', 'https').expect(200);
      expect(setCookieOf(res)).to.match(/; Secure/);
      const untrusted = createApp(mount());
      const plain = await request(untrusted).post('/login').set('X-Forwarded-Proto', 'https').expect(200);
      expect(setCookieOf(plain)).to.not.match(/Secure/);
    });

    it('should always mark the cookie Secure in production, and never send it over plain HTTP', async () => {
      const previous = process.env.NODE_ENV;
      process.env.NODE_ENV = 'production';
      let middleware: SessionsMiddleware;
      try {
        middleware = mount();
      } finally {
        process.env.NODE_ENV = previous;
      }
      const app = createApp(middleware, { trustProxy: true });
      const secure = await request(app).post('/login').set('X-Forwarded-Proto', 'https').expect(200);
      expect(setCookieOf(secure)).to.match(/; Secure/);
      const plain = await request(app).post('/login').expect(200);
      expect(setCookieOf(plain)).to.equal(undefined);
    });

    it('should use the cookie name and attributes it is given', async () => {
      const app = createApp(
        mount({ name: 'app.sid', cookie: { sameSite: 'strict', domain: 'example.test', maxAge: '1h' } }),
      );
      const res = await request(app).post('/login').expect(200);
      const line = setCookieOf(res, 'app.sid') as string;
      expect(line)
        .to.match(/; Domain=example.test/)
        .and.match(/; SameSite=Strict/);
      const pttl = await redis.pttl(keyOf(cookieOf(res, 'app.sid')));
      expect(pttl).to.be.within(3_550_000, 3_600_000);
    });

    it('should treat a tampered cookie as anonymous', async () => {
      const app = createApp(mount());
      const cookie = await loginWith(app);
      const tampered = cookie.slice(0, -3) + (cookie.endsWith('AAA') ? 'BBB' : 'AAA');
      await request(app).get('/me').set('Cookie', tampered).expect(401);
      await request(app).get('/me').set('Cookie', cookie).expect(200);
    });

    it('should treat an unsigned cookie as anonymous', async () => {
      const app = createApp(mount());
      const cookie = await loginWith(app);
      await request(app)
        .get('/me')
        .set('Cookie', `sid=${sidOf(cookie)}`)
        .expect(401);
      await request(app)
        .get('/me')
        .set('Cookie', `sid=${encodeURIComponent(`s:${sidOf(cookie)}`)}`)
        .expect(401);
    });

    it('should accept cookies signed by any listed secret and sign with the first', async () => {
      const oldSecret = 'the-old-secret-of-at-least-thirty-two-chars';
      const app = createApp(mount({ secret: oldSecret }));
      const cookie = await loginWith(app);
      const rotated = createApp(mount({ secret: [SECRET, oldSecret] }));
      await request(rotated).get('/me').set('Cookie', cookie).expect(200);
      const fresh = await loginWith(rotated);
      const sid = sidOf(fresh);
      const expected = createHmac('sha256', SECRET).update(sid).digest('base64').replace(/=+$/, '');
      expect(decodeURIComponent(fresh.slice(4))).to.equal(`s:${sid}.${expected}`);
    });
  });

  describe('storage', () => {
    it('should store JSON under session:<id> with a 24 h TTL', async () => {
      const cookie = await loginWith(createApp(mount()), 'bob');
      const key = keyOf(cookie);
      const stored = JSON.parse((await redis.get(key)) as string) as Record<string, unknown>;
      expect(stored.user).to.deep.equal({ name: 'bob' });
      expect(stored.cookie).to.include({ httpOnly: true, sameSite: 'lax' });
      expect(await redis.pttl(key)).to.be.within(86_380_000, 86_401_000);
    });

    it('should share a session between two app instances on one Redis', async () => {
      const other = (await sharedStandalone()).client();
      const first = createApp(mount());
      const second = createApp(mount({ redis: other }));
      const cookie = await loginWith(first, 'carol');
      const me = await request(second).get('/me').set('Cookie', cookie).expect(200);
      expect(me.body).to.deep.equal({ user: { name: 'carol' } });
      await request(second).post('/set').set('Cookie', cookie).send({ field: 'theme', value: 'dark' }).expect(200);
      const seen = await request(first).get('/session').set('Cookie', cookie).expect(200);
      expect(seen.body.theme).to.equal('dark');
    });

    it('should delete the old key when login regenerates the id', async () => {
      const app = createApp(mount());
      const before = await loginWith(app, 'dan');
      const res = await request(app).post('/login').set('Cookie', before).send({ name: 'dan' }).expect(200);
      const after = cookieOf(res);
      expect(sidOf(after)).to.not.equal(sidOf(before));
      expect(await redis.exists(keyOf(before))).to.equal(0);
      expect(await redis.exists(keyOf(after))).to.equal(1);
      await request(app).get('/me').set('Cookie', before).expect(401);
    });

    it('should delete the key and clear the cookie at logout', async () => {
      const app = createApp(mount());
      const cookie = await loginWith(app);
      const res = await request(app).post('/logout').set('Cookie', cookie).expect(204);
      expect(setCookieOf(res)).to.match(/^sid=; Path=\/; Expires=Thu, 01 Jan 1970/);
      expect(await redis.exists(keyOf(cookie))).to.equal(0);
      await request(app).get('/me').set('Cookie', cookie).expect(401);
    });

    it('should cost one Redis command (GET) for a request with a valid cookie', async () => {
      const app = createApp(mount());
      const cookie = await loginWith(app);
      const operations: string[] = [];
      const stop = onEvent((event: MiddlewareEvent) => {
        if (event.kind === 'redis') operations.push(event.operation);
      });
      try {
        for (let i = 0; i < 3; i++) await request(app).get('/me').set('Cookie', cookie).expect(200);
      } finally {
        stop();
      }
      expect(operations).to.deep.equal(['GET', 'GET', 'GET']);
    });
    it('should cost one SET for a first login, and GET + DEL + SET for a login over an old session', async () => {
      const app = createApp(mount());
      const operations: string[] = [];
      const stop = onEvent((event: MiddlewareEvent) => {
        if (event.kind === 'redis') operations.push(event.operation);
      });
      try {
        const cookie = await loginWith(app);
        expect(operations.splice(0)).to.deep.equal(['SET']);
        await request(app).post('/login').set('Cookie', cookie).send({ name: 'ann' }).expect(200);
        expect(operations.splice(0)).to.deep.equal(['GET', 'DEL', 'SET']);
      } finally {
        stop();
      }
    });
  });

  describe('expiry', () => {
    it('should expire a session after its ttl', async () => {
      const app = createApp(mount({ ttl: '1s' }));
      const cookie = await loginWith(app);
      expect(await redis.pttl(keyOf(cookie))).to.be.within(1, 1000);
      await waitFor(async () => (await redis.exists(keyOf(cookie))) === 0, { what: 'the session key to expire' });
      await request(app).get('/me').set('Cookie', cookie).expect(401);
    });

    it('should follow the cookie expiry when it is shorter than ttl', async () => {
      const cookie = await loginWith(createApp(mount({ ttl: '1h', cookie: { maxAge: '30s' } })));
      expect(await redis.pttl(keyOf(cookie))).to.be.within(25_000, 30_000);
    });

    it('should live ttl with a browser-session cookie (maxAge null)', async () => {
      const res = await request(createApp(mount({ ttl: '1h', cookie: { maxAge: null } })))
        .post('/login')
        .expect(200);
      expect(setCookieOf(res)).to.not.match(/Expires/);
      expect(await redis.pttl(keyOf(cookieOf(res)))).to.be.within(3_550_000, 3_600_000);
    });

    it('should move the expiry forward only once touchAfter has been gained', async () => {
      const app = createApp(mount({ ttl: '10s', touchAfter: '1s' }));
      const cookie = await loginWith(app);
      const key = keyOf(cookie);
      const until = async () => JSON.parse((await redis.get(key)) as string).$until as number;
      const written = await until();
      await request(app).get('/me').set('Cookie', cookie).expect(200);
      expect(await until()).to.equal(written);
      await waitFor(async () => (await redis.pttl(key)) < 8_900, { what: 'more than touchAfter to pass' });
      await request(app).get('/me').set('Cookie', cookie).expect(200);
      expect(await until()).to.be.above(written + 1000);
      expect(await redis.pttl(key)).to.be.above(8_900);
      const stored = JSON.parse((await redis.get(key)) as string);
      expect(stored.user).to.deep.equal({ name: 'ann' });
    });

    it('should re-send the cookie on every response when rolling', async () => {
      const app = createApp(mount({ rolling: true, ttl: '1h' }));
      const cookie = await loginWith(app);
      const res = await request(app).get('/me').set('Cookie', cookie).expect(200);
      expect(cookieOf(res)).to.equal(cookie);
      const fixed = createApp(mount({ ttl: '1h' }));
      const unchanged = await request(fixed).get('/me').set('Cookie', cookie).expect(200);
      expect(setCookieOf(unchanged)).to.equal(undefined);
    });

    it('should keep a rolling session alive past its ttl while it is used', async () => {
      const app = createApp(mount({ rolling: true, ttl: '2s', touchAfter: 0 }));
      const cookie = await loginWith(app);
      const key = keyOf(cookie);
      const started = Date.now();
      await waitFor(
        async () => {
          await request(app).get('/me').set('Cookie', cookie).expect(200);
          return Date.now() - started > 3000;
        },
        { what: 'more than a ttl of use', intervalMs: 200 },
      );
      expect(await redis.pttl(key), 'still alive after more than a ttl of use').to.be.above(0);
      await waitFor(async () => (await redis.exists(key)) === 0, { what: 'the idle session to expire' });
    });

    it('should end a session at maxLifetime however active it is', async () => {
      const app = createApp(mount({ rolling: true, ttl: '1h', maxLifetime: '1500ms', touchAfter: 0 }));
      const cookie = await loginWith(app);
      expect(await redis.pttl(keyOf(cookie))).to.be.within(1, 1500);
      await waitFor(async () => (await request(app).get('/me').set('Cookie', cookie)).status === 401, {
        what: 'the session to reach maxLifetime',
      });
    });
  });

  describe('size limit', () => {
    it('should refuse to write a session above maxSize with E_SESSION_TOO_LARGE', async () => {
      const app = createApp(mount({ maxSize: 1024 }));
      const cookie = await loginWith(app);
      const before = await redis.get(keyOf(cookie));
      const res = await request(app)
        .post('/set-now')
        .set('Cookie', cookie)
        .send({ field: 'blob', value: 'x'.repeat(2000) })
        .expect(413);
      expect(res.body.code).to.equal('E_SESSION_TOO_LARGE');
      expect(res.body.message).to.match(/above the maxSize option of 1024; it was not saved/);
      expect(await redis.get(keyOf(cookie))).to.equal(before);
    });

    it('should log, not fail the response, when the end-of-response save is too large', async () => {
      const app = createApp(mount({ maxSize: 1024 }));
      const cookie = await loginWith(app);
      const before = await redis.get(keyOf(cookie));
      const { lines } = await captureWarnings(() =>
        request(app)
          .post('/set')
          .set('Cookie', cookie)
          .send({ field: 'blob', value: 'x'.repeat(2000) })
          .expect(200),
      );
      await waitFor(() => lines.length > 0, { what: 'the warning' });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/W_SESSION_TOO_LARGE/);
      expect(await redis.get(keyOf(cookie))).to.equal(before);
    });
  });

  describe('bad stored data', () => {
    const cases: Array<[string, (valid: string) => string]> = [
      ['is not JSON', () => '{"$until":not json'],
      ['is JSON but not a session', () => '[1,2,3]'],
      ['is larger than maxSize', (valid) => valid.replace('"user"', `"pad":"${'x'.repeat(5000)}","user"`)],
      ['carries a __proto__ key', (valid) => valid.replace('"user"', '"__proto__":{"polluted":true},"user"')],
      [
        'carries a nested __proto__ key',
        (valid) => valid.replace('"user":{', '"user":{"__proto__":{"polluted":true},'),
      ],
      [
        'carries a constructor key',
        (valid) => valid.replace('"user"', '"constructor":{"prototype":{"polluted":true}},"user"'),
      ],
    ];
    for (const [what, corrupt] of cases) {
      it(`should start a fresh session with one log line when the stored value ${what}`, async () => {
        const app = createApp(mount({ maxSize: 4096 }));
        const cookie = await loginWith(app);
        const key = keyOf(cookie);
        await redis.set(key, corrupt((await redis.get(key)) as string), 'PX', 60_000);
        const { result, lines } = await captureWarnings(() => request(app).get('/me').set('Cookie', cookie));
        expect(result.status).to.equal(401);
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(new RegExp(`W_SESSION_CORRUPT: stored session ${key} .*; starting a fresh session`));
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
        expect((Object.prototype as Record<string, unknown>).polluted).to.equal(undefined);
        await waitFor(async () => (await redis.exists(key)) === 0, { what: 'the corrupt key to be deleted' });
        const fresh = await request(app).post('/login').set('Cookie', cookie).expect(200);
        expect(sidOf(cookieOf(fresh))).to.not.equal(sidOf(cookie));
      });
    }
  });

  describe('bad stored type', () => {
    it('should start a fresh session with one log line when the key holds another type', async () => {
      const app = createApp(mount());
      const cookie = await loginWith(app);
      const key = keyOf(cookie);
      await redis.del(key);
      await redis.hset(key, 'user', 'mallory');
      const { result, lines } = await captureWarnings(() => request(app).get('/me').set('Cookie', cookie));
      expect(result.status).to.equal(401);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/W_SESSION_CORRUPT: stored session session:\S+ is not a string \(WRONGTYPE\)/);
      await waitFor(async () => (await redis.exists(key)) === 0, { what: 'the bad key to be deleted' });
    });
  });

  describe('under load', () => {
    it('should lose no session data with 500 users each sending parallel requests', async function () {
      this.timeout(60_000);
      const app = createApp(mount({ touchAfter: 0 }));
      const server = await listen(app);
      try {
        const users = Array.from({ length: 500 }, (_, i) => `user-${i}`);
        const limit = pool(64);
        const cookies = await Promise.all(
          users.map((name) =>
            limit(async () => {
              const res = await fetch(`${server.url}/login`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ name }),
              });
              const line = res.headers.getSetCookie().find((l) => l.startsWith('sid=')) as string;
              return line.split(';')[0] as string;
            }),
          ),
        );
        // Each user: one request writes a field while three read (and touch) in parallel.
        await Promise.all(
          cookies.flatMap((cookie, i) => [
            limit(() =>
              fetch(`${server.url}/set`, {
                method: 'POST',
                headers: { cookie, 'content-type': 'application/json' },
                body: JSON.stringify({ field: 'note', value: `note-${i}` }),
              }).then((r) => expect(r.status).to.equal(200)),
            ),
            ...[1, 2, 3].map(() =>
              limit(() =>
                fetch(`${server.url}/me`, { headers: { cookie } }).then((r) => expect(r.status).to.equal(200)),
              ),
            ),
          ]),
        );
        const values = await redis.mget(cookies.map(keyOf));
        values.forEach((value, i) => {
          const stored = JSON.parse(value as string);
          expect(stored.user).to.deep.equal({ name: `user-${i}` });
          expect(stored.note).to.equal(`note-${i}`);
        });
      } finally {
        await server.close();
      }
    });
  });

  describe('store administration', () => {
    it('should list, count, read and clear sessions', async () => {
      const middleware = mount();
      const store = middleware.store as unknown as import('../lib/sessions').SessionStore;
      await store.clear();
      const app = createApp(middleware);
      const cookies = await Promise.all(['a', 'b', 'c'].map((name) => loginWith(app, name)));
      expect(await store.length()).to.equal(3);
      expect(((await store.ids()) as string[]).sort()).to.deep.equal(cookies.map(sidOf).sort());
      const all = (await store.all()) as Array<{ id: string; user: { name: string } }>;
      expect(all.map((s) => s.user.name).sort()).to.deep.equal(['a', 'b', 'c']);
      await store.clear();
      expect(await store.length()).to.equal(0);
    });
  });

  describe('without redis', () => {
    it('should keep sessions in memory and say so in one warning line', async () => {
      resetWarnings();
      const { result: app, lines } = await captureWarnings(async () => {
        const first = sessions({ secret: SECRET });
        sessions({ secret: SECRET });
        return createApp(first);
      });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/W_MEMORY_MODE/);
      const cookie = await loginWith(app, 'mem');
      const me = await request(app).get('/me').set('Cookie', cookie).expect(200);
      expect(me.body).to.deep.equal({ user: { name: 'mem' } });
      await request(app).post('/logout').set('Cookie', cookie).expect(204);
      await request(app).get('/me').set('Cookie', cookie).expect(401);
    });
  });
});

/** Runs at most `size` tasks at once. */
function pool(size: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
