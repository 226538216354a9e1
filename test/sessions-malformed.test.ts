// Stored sessions express-session cannot use (bad cookie fields, bad bookkeeping), fuzzed: a fresh session, never a hang or a 500.
import { expect } from 'chai';
import type express from 'express';
import request from 'supertest';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import { MemoryStore, type RedisClient, resolveBackend } from '../lib/redis';
import { type SessionsMiddleware, sessions } from '../lib/sessions';
import { UNTIL_OFFSET } from '../lib/sessions/codec';
import { touchScript } from '../lib/sessions/touch-script';
import { captureWarnings, cookieOf, createApp, keyOf } from './fixtures/sessions-app';
import { sharedStandalone } from './support';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
/** Longest a request may take: far above a healthy answer, far below "no answer at all". */
const ANSWER_BOUND_MS = 3000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values of every JSON type, and the ones express-session's cookie rules reject. */
const HOSTILE_VALUES: Json[] = [
  'abc',
  '',
  {},
  [],
  true,
  false,
  null,
  -1,
  0,
  1e308,
  -1e308,
  5,
  '2026-13-45',
  'bad domain;',
  'no-slash;x',
  'sideways',
  { nested: { deeper: [1, 'x'] } },
  '{}:*?[]',
];
const COOKIE_FIELDS = [
  'originalMaxAge',
  'expires',
  'secure',
  'httpOnly',
  'domain',
  'path',
  'sameSite',
  'priority',
  'partitioned',
  'maxAge',
];

/** The stored JSON with `mutate` applied (keeping `$until` first when it is kept at all). */
function mutated(valid: string, mutate: (value: Record<string, Json>) => void): string {
  const value = JSON.parse(valid) as Record<string, Json>;
  mutate(value);
  return JSON.stringify(value);
}

/** A deterministic pseudo-random sequence, so a failing case can be replayed. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe('sessions() with stored values express-session cannot use', () => {
  let redis: RedisClient;
  let middleware: SessionsMiddleware;
  let app: express.Express;
  let cookie: string;
  let key: string;
  let valid: string;
  before(async () => {
    redis = (await sharedStandalone()).client();
    middleware = sessions({ redis, secret: SECRET, touchAfter: 0, rolling: true });
    app = createApp(middleware);
  });
  after(() => middleware.close());
  beforeEach(async () => {
    cookie = cookieOf(await request(app).post('/login').send({ name: 'ann' }).expect(200));
    key = keyOf(cookie);
    valid = (await redis.get(key)) as string;
  });

  /** GET /me and GET /public with the session's cookie, each bounded; returns the statuses. */
  async function answers(): Promise<number[]> {
    return Promise.all(
      ['/me', '/public'].map(
        async (path) => (await request(app).get(path).set('Cookie', cookie).timeout(ANSWER_BOUND_MS)).status,
      ),
    );
  }

  const named: Array<[string, (value: Record<string, Json>) => void]> = [
    ['cookie.originalMaxAge "abc"', (v) => Object.assign(v.cookie as object, { originalMaxAge: 'abc' })],
    ['cookie.originalMaxAge {}', (v) => Object.assign(v.cookie as object, { originalMaxAge: {} })],
    ['cookie.originalMaxAge true', (v) => Object.assign(v.cookie as object, { originalMaxAge: true })],
    ['cookie.originalMaxAge 1e308', (v) => Object.assign(v.cookie as object, { originalMaxAge: 1e308 })],
    ['cookie.expires "abc"', (v) => Object.assign(v.cookie as object, { expires: 'abc' })],
    ['cookie.expires 5', (v) => Object.assign(v.cookie as object, { expires: 5 })],
    ['cookie.sameSite "sideways"', (v) => Object.assign(v.cookie as object, { sameSite: 'sideways' })],
    ['cookie.domain "bad domain;"', (v) => Object.assign(v.cookie as object, { domain: 'bad domain;' })],
    ['cookie.priority "urgent"', (v) => Object.assign(v.cookie as object, { priority: 'urgent' })],
    ['cookie.path 5', (v) => Object.assign(v.cookie as object, { path: 5 })],
    ['$until "abc"', (v) => Object.assign(v, { $until: 'abc' })],
    ['$until 5', (v) => Object.assign(v, { $until: 5 })],
    ['$created {}', (v) => Object.assign(v, { $created: {} })],
    ['$created -5', (v) => Object.assign(v, { $created: -5 })],
  ];
  for (const [what, mutate] of named) {
    it(`should answer with a fresh session, one log line and one counted event when ${what}`, async () => {
      await redis.set(key, mutated(valid, mutate), 'PX', 60_000);
      const events: MiddlewareEvent[] = [];
      const off = onEvent((event) => {
        if (event.kind === 'session') events.push(event);
      });
      try {
        const { result, lines } = await captureWarnings(
          async () => (await request(app).get('/me').set('Cookie', cookie).timeout(ANSWER_BOUND_MS)).status,
        );
        expect(result).to.equal(401);
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(new RegExp(`W_SESSION_CORRUPT: stored session ${key} .*; starting a fresh session`));
        expect(events).to.deep.equal([{ kind: 'session', outcome: 'fresh-start' }]);
      } finally {
        off();
      }
      const fresh = await request(app)
        .post('/login')
        .set('Cookie', cookie)
        .send({ name: 'bob' })
        .timeout(ANSWER_BOUND_MS);
      expect(fresh.status).to.equal(200);
    });
  }

  it('should answer every request within the bound, never with a 500, for 200 random malformed values', async function () {
    this.timeout(120_000);
    const random = prng(16);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const statuses = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const value = mutated(valid, (v) => {
        const where = random();
        if (where < 0.6) (v.cookie as Record<string, Json>)[pick(COOKIE_FIELDS)] = pick(HOSTILE_VALUES);
        else if (where < 0.75) v.$until = pick(HOSTILE_VALUES);
        else if (where < 0.9) v.$created = pick(HOSTILE_VALUES);
        else v.cookie = pick(HOSTILE_VALUES);
      });
      await redis.set(key, value, 'PX', 60_000);
      const { result } = await captureWarnings(answers);
      for (const status of result) statuses.add(status);
      expect(
        result.every((status) => status < 500),
        `${value} answered ${result.join(', ')}`,
      ).to.equal(true);
    }
    expect([...statuses].sort()).to.include.members([200, 401]);
  });
});

describe('the sessions touch script', () => {
  const NEW_UNTIL = '4102444800000';
  const cases: Array<[string, string]> = [
    ['"$until":"abc"', '{"$until":"abc","$created":1700000000000,"cookie":{}}'],
    ['"$until":5', '{"$until":5,"$created":1700000000000,"cookie":{}}'],
    ['"$until" of 14 digits', '{"$until":17000000000001,"$created":1,"cookie":{}}'],
  ];

  for (const backend of ['Redis', 'memory'] as const) {
    describe(`on ${backend}`, () => {
      let run: (key: string, value: string) => Promise<{ reply: unknown; after: string | null }>;
      before(async () => {
        if (backend === 'Redis') {
          const client = (await sharedStandalone()).client();
          const target = resolveBackend({ redis: client });
          run = async (key, value) => {
            await client.set(key, value, 'PX', 60_000);
            const reply = await target.run(touchScript, [key], [NEW_UNTIL, 120_000]);
            return { reply, after: await client.get(key) };
          };
        } else {
          const store = new MemoryStore();
          run = async (key, value) => {
            store.set(key, Buffer.from(value), 60_000);
            const reply = touchScript.memory(store, [key], [NEW_UNTIL, '120000'], Date.now());
            return { reply, after: store.get<Buffer>(key)?.toString('utf8') ?? null };
          };
        }
      });

      for (const [what, value] of cases) {
        it(`should leave a value with ${what} byte for byte as it was`, async () => {
          expect(await run(`session:touch-${backend}-${what.length}`, value)).to.deep.equal({ reply: 0, after: value });
        });
      }

      it('should rewrite the 13 digits of a value it wrote itself', async () => {
        const value = '{"$until":1700000000000,"$created":1700000000000,"cookie":{}}';
        const { reply, after } = await run(`session:touch-${backend}-ok`, value);
        expect(reply).to.equal(1);
        expect(after).to.equal(`${value.slice(0, UNTIL_OFFSET)}${NEW_UNTIL}${value.slice(UNTIL_OFFSET + 13)}`);
        expect(JSON.parse(after as string)).to.include({ $created: 1700000000000 });
      });
    });
  }
});
