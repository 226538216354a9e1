import { expect } from 'chai';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import { type QueryCache, queryCache } from '../lib/query-cache';
import { entryKey } from '../lib/query-cache/entry';
import { dbKey, hashCanonical, type RedisClient, sharedMemoryBackend } from '../lib/redis';
import { countingLoader, heldLoader, queryOf, uniqueTable } from './fixtures/query-cache-helpers';
import { type Standalone, sharedStandalone } from './support';

const MINUTE = 60_000;

describe('queryCache()', () => {
  describe('options', () => {
    it('should reject a ttl that is not a duration', () => {
      expect(() => queryCache({ ttl: 'soon' as never })).to.throw(TypeError, /^ttl option must be a duration/);
    });

    it('should reject tables that are not an object of durations', () => {
      expect(() => queryCache({ tables: ['recipes'] as never })).to.throw(
        TypeError,
        /^tables option must be an object of table names to durations/,
      );
      expect(() => queryCache({ tables: { recipes: 'a while' as never } })).to.throw(
        TypeError,
        /^tables\.recipes option must be a duration/,
      );
    });

    it('should reject a maxTtl shorter than minTtl', () => {
      expect(() => queryCache({ minTtl: '10m', maxTtl: '1m' })).to.throw(
        TypeError,
        /^maxTtl option must not be shorter than minTtl/,
      );
    });

    it('should reject a maxEntryBytes that is not a positive whole number', () => {
      expect(() => queryCache({ maxEntryBytes: 0 })).to.throw(
        TypeError,
        /^maxEntryBytes option must be a whole number/,
      );
    });

    it('should reject a redis option that is not an ioredis client', () => {
      expect(() => queryCache({ redis: {} as never })).to.throw(TypeError, /^redis option must be an ioredis/);
    });

    it('should reject options that are not an object', () => {
      expect(() => queryCache('redis://x' as never)).to.throw(TypeError, /^queryCache\(\) takes one options object/);
    });

    it('should reject a malformed query or loader at call time', async () => {
      const q = queryCache({});
      const rejected = (promise: Promise<unknown>) =>
        promise.then(
          () => expect.fail('resolved'),
          (error: Error) => error,
        );
      expect((await rejected(q.get({ tables: [], sql: 'x' }, () => 1))).message).to.match(/^get\(\) tables must be/);
      expect((await rejected(q.get({ tables: 't', sql: '' }, () => 1))).message).to.match(/^get\(\) query sql must/);
      expect((await rejected(q.get({ tables: 't', sql: 'x' }, 'nope' as never))).message).to.match(/^loader must be/);
      expect((await rejected(q.invalidate([]))).message).to.match(/^invalidate\(\) tables must be/);
      await q.close();
    });
  });

  describe('TTLs', () => {
    it('should default to 10 minutes', () => {
      expect(queryCache({}).ttlOf('anything')).to.equal(10 * MINUTE);
    });

    it('should clamp the default ttl into 5–15 minutes', () => {
      expect(queryCache({ ttl: '1h' }).ttlOf('t')).to.equal(15 * MINUTE);
      expect(queryCache({ ttl: '1m' }).ttlOf('t')).to.equal(5 * MINUTE);
    });

    it('should not clamp a ttl when minTtl and maxTtl allow it', () => {
      expect(queryCache({ ttl: '1m', minTtl: '1s' }).ttlOf('t')).to.equal(MINUTE);
    });

    it('should use a per-table ttl exactly as written and take the shortest of a query’s tables', () => {
      const q = queryCache({ ttl: '10m', tables: { recipes: '15m', ratings: '5m', live: '30s' } });
      expect(q.ttlOf('recipes')).to.equal(15 * MINUTE);
      expect(q.ttlOf(['recipes', 'ingredients'])).to.equal(10 * MINUTE);
      expect(q.ttlOf(['recipes', 'ratings'])).to.equal(5 * MINUTE);
      expect(q.ttlOf(['live', 'recipes'])).to.equal(30_000);
    });
  });

  describe('entry keys', () => {
    it('should be the SHA-256 of the canonical JSON of [sql, params, tables], also for a query seen before', () => {
      const table = uniqueTable('recipes');
      const cases: Array<[string, unknown, string[]]> = [
        ['SELECT * FROM r WHERE id = ?', [1], [table]],
        ['SELECT * FROM r WHERE id = ?', ['1'], [table]],
        ['SELECT * FROM r WHERE id = ?', [1], [table, 'ratings']],
        ['SELECT * FROM r WHERE "a" = ?', [null, true, 'x"y'], [table]],
        ['SELECT * FROM r WHERE id = :id', { id: 1, at: new Date(0), n: 2n }, [table]],
        ['SELECT * FROM r WHERE id = :id', { n: 2n, at: new Date(0), id: 1 }, [table]],
        ['SELECT 1', undefined, [table]],
      ];
      const expected = cases.map(([sql, params, tables]) => dbKey(table, hashCanonical([sql, params ?? null, tables])));
      expect(cases.map(([sql, params, tables]) => entryKey(tables, sql, params))).to.deep.equal(expected);
      // Again, now from the memo of recent keys.
      expect(cases.map(([sql, params, tables]) => entryKey(tables, sql, params))).to.deep.equal(expected);
      expect(new Set(expected).size).to.equal(cases.length - 1);
    });

    it('should stay right when more distinct queries than the memo keeps go through it', () => {
      const table = uniqueTable('recipes');
      for (let id = 0; id < 2000; id++) {
        const sql = `SELECT * FROM r WHERE id = ? -- ${id % 7}`;
        expect(entryKey([table], sql, [id])).to.equal(dbKey(table, hashCanonical([sql, [id], [table]])));
      }
    });
  });

  describe('on Redis', () => {
    let redis: Standalone;
    let client: RedisClient;
    let q: QueryCache;
    const caches: QueryCache[] = [];
    const make = (options = {}, on = client) => {
      const cache = queryCache({ redis: on, ...options });
      caches.push(cache);
      return cache;
    };

    before(async () => {
      redis = await sharedStandalone();
      client = redis.client();
      q = make({ tables: {} });
    });
    after(async () => {
      await Promise.all(caches.map((cache) => cache.close()));
    });

    it('should call the loader on a miss and serve the stored result on a hit', async () => {
      const recipes = uniqueTable('recipes');
      const loader = countingLoader((call) => [{ id: 1, title: `call ${call}` }]);
      expect(await q.get(queryOf([recipes]), loader)).to.deep.equal([{ id: 1, title: 'call 1' }]);
      expect(await q.get(queryOf([recipes]), loader)).to.deep.equal([{ id: 1, title: 'call 1' }]);
      expect(loader.calls).to.equal(1);
    });

    it('should key entries by SQL and parameters under db:{<first table>}:<hash>', async () => {
      const recipes = uniqueTable('recipes');
      const loader = countingLoader((call) => call);
      await q.get(queryOf([recipes, 'ingredients'], 1), loader);
      await q.get(queryOf([recipes, 'ingredients'], 2), loader);
      await q.get({ ...queryOf([recipes, 'ingredients'], 1), sql: 'SELECT 2' }, loader);
      expect(loader.calls).to.equal(3);
      const keys = await client.keys(`db:{${recipes}}:*`);
      expect(keys.filter((key) => /^db:\{[^}]+\}:[0-9a-f]{32}$/.test(key))).to.have.length(3);
      expect(keys).to.include(`db:{${recipes}}:gen`);
    });

    it('should store each entry for the shortest TTL of its tables', async () => {
      const recipes = uniqueTable('recipes');
      const ratings = uniqueTable('ratings');
      const cache = make({ tables: { [recipes]: '15m', [ratings]: '5m' } });
      await cache.get(queryOf([recipes, ratings]), () => 1);
      await cache.get(queryOf([recipes]), () => 1);
      const entries = (await client.keys(`db:{${recipes}}:*`)).filter((key) => !key.endsWith(':gen'));
      const ttls = await Promise.all(entries.map((key) => client.pttl(key)));
      ttls.sort((a, b) => a - b);
      expect(ttls).to.have.length(2);
      expect(ttls[0]).to.be.within(5 * MINUTE - 10_000, 5 * MINUTE);
      expect(ttls[1]).to.be.within(15 * MINUTE - 10_000, 15 * MINUTE);
    });

    it('should give every db: key it writes a TTL, generations twice the longest TTL', async () => {
      const [recipes, ratings, tags] = [uniqueTable('recipes'), uniqueTable('ratings'), uniqueTable('tags')];
      const cache = make({ tables: { [ratings]: '20m' } });
      const loader = countingLoader((call) => call);
      await cache.get(queryOf([recipes]), loader);
      await cache.get(queryOf([recipes, ratings, tags]), loader);
      await cache.invalidate(tags);
      await cache.write([ratings], () => undefined);
      await cache.get(queryOf([ratings, recipes]), loader);
      const keys = (await Promise.all([recipes, ratings, tags].map((table) => client.keys(`db:{${table}}:*`)))).flat();
      expect(keys).to.have.length(6);
      for (const key of keys) expect(await client.pttl(key), key).to.be.greaterThan(0);
      for (const table of [recipes, ratings, tags]) {
        expect(await client.pttl(`db:{${table}}:gen`)).to.be.within(40 * MINUTE - 10_000, 40 * MINUTE);
      }
    });

    it('should refresh the TTL of every table’s generation when it stores an entry', async () => {
      const [recipes, ratings] = [uniqueTable('recipes'), uniqueTable('ratings')];
      const loader = countingLoader((call) => call);
      await q.get(queryOf([recipes, ratings], 1), loader);
      for (const table of [recipes, ratings]) await client.pexpire(`db:{${table}}:gen`, 60_000);
      await q.get(queryOf([recipes, ratings], 2), loader);
      for (const table of [recipes, ratings]) {
        expect(await client.pttl(`db:{${table}}:gen`)).to.be.within(30 * MINUTE - 10_000, 30 * MINUTE);
      }
    });

    it('should miss once an entry’s TTL has run out', async () => {
      const fast = uniqueTable('fast');
      const cache = make({ tables: { [fast]: '200ms' } });
      const loader = countingLoader((call) => call);
      await cache.get(queryOf([fast]), loader);
      await cache.get(queryOf([fast]), loader);
      expect(loader.calls).to.equal(1);
      await waitUntilGone(client, fast);
      expect(await cache.get(queryOf([fast]), loader)).to.equal(2);
    });

    it('should make every query that read an invalidated table a miss, including those stored under another table', async () => {
      const recipes = uniqueTable('recipes');
      const ingredients = uniqueTable('ingredients');
      const ratings = uniqueTable('ratings');
      const joined = countingLoader((call) => `joined ${call}`);
      const onlyIngredients = countingLoader((call) => `ingredients ${call}`);
      const onlyRatings = countingLoader((call) => `ratings ${call}`);
      await q.get(queryOf([recipes, ingredients]), joined);
      await q.get(queryOf([ingredients]), onlyIngredients);
      await q.get(queryOf([ratings]), onlyRatings);

      await q.invalidate(ingredients);

      expect(await q.get(queryOf([recipes, ingredients]), joined)).to.equal('joined 2');
      expect(await q.get(queryOf([ingredients]), onlyIngredients)).to.equal('ingredients 2');
      expect(await q.get(queryOf([ratings]), onlyRatings)).to.equal('ratings 1');
    });

    it('should never resurrect old entries when a generation key is evicted', async () => {
      const recipes = uniqueTable('recipes');
      const loader = countingLoader((call) => call);
      await q.get(queryOf([recipes, 'tags']), loader);
      await client.del(`db:{${recipes}}:gen`);
      expect(await q.get(queryOf([recipes, 'tags']), loader)).to.equal(2);
      expect(await q.get(queryOf([recipes, 'tags']), loader)).to.equal(2);
    });

    it('should treat an unreadable entry as a miss, say so once, and replace it', async () => {
      const recipes = uniqueTable('recipes');
      const loader = countingLoader((call) => call);
      await q.get(queryOf([recipes]), loader);
      const { sql, params } = queryOf([recipes]);
      const key = entryKey([recipes], sql, params);
      const gen = await client.get(`db:{${recipes}}:gen`);
      await client.set(key, `${gen}J{not json`, 'PX', 60_000);
      const warnings: string[] = [];
      const warn = console.warn;
      console.warn = (line: string) => warnings.push(line);
      try {
        expect(await q.get(queryOf([recipes]), loader)).to.equal(2);
      } finally {
        console.warn = warn;
      }
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/W_QUERY_CACHE_CORRUPT/);
      expect(await q.get(queryOf([recipes]), loader)).to.equal(2);
    });

    it('should invalidate a list of tables', async () => {
      const [a, b] = [uniqueTable('a'), uniqueTable('b')];
      const loaderA = countingLoader((call) => call);
      const loaderB = countingLoader((call) => call);
      await q.get(queryOf([a]), loaderA);
      await q.get(queryOf([b]), loaderB);
      await q.invalidate([a, b]);
      await q.get(queryOf([a]), loaderA);
      await q.get(queryOf([b]), loaderB);
      expect([loaderA.calls, loaderB.calls]).to.deep.equal([2, 2]);
    });

    it('should share entries between instances and see another instance’s invalidation', async () => {
      const recipes = uniqueTable('recipes');
      const other = make({}, redis.client());
      const loader = countingLoader((call) => call);
      await q.get(queryOf([recipes, 'users']), loader);
      expect(await other.get(queryOf([recipes, 'users']), loader)).to.equal(1);
      await other.invalidate(recipes);
      expect(await q.get(queryOf([recipes, 'users']), loader)).to.equal(2);
      expect(await other.get(queryOf([recipes, 'users']), loader)).to.equal(2);
    });

    describe('the stale-set race', () => {
      it('should not store the result of a loader that started before an invalidation', async () => {
        const recipes = uniqueTable('recipes');
        const held = heldLoader<string>();
        const pending = q.get(queryOf([recipes]), held.load);
        await held.started;
        await q.invalidate(recipes);
        held.finish('read before the write');
        expect(await pending).to.equal('read before the write');

        const next = countingLoader(() => 'read after the write');
        expect(await q.get(queryOf([recipes]), next)).to.equal('read after the write');
        expect(next.calls).to.equal(1);
        expect(await q.get(queryOf([recipes]), next)).to.equal('read after the write');
        expect(next.calls).to.equal(1);
      });

      it('should not store it when another instance invalidated the table it is stored under', async () => {
        const recipes = uniqueTable('recipes');
        const other = make({}, redis.client());
        const held = heldLoader<string>();
        const pending = q.get(queryOf([recipes]), held.load);
        await held.started;
        await other.invalidate(recipes);
        held.finish('old');
        await pending;
        const next = countingLoader(() => 'new');
        expect(await q.get(queryOf([recipes]), next)).to.equal('new');
        expect(next.calls).to.equal(1);
      });

      it('should not serve it when another table of the query was invalidated by another instance', async () => {
        const recipes = uniqueTable('recipes');
        const ratings = uniqueTable('ratings');
        const other = make({}, redis.client());
        const held = heldLoader<string>();
        const pending = q.get(queryOf([recipes, ratings]), held.load);
        await held.started;
        await other.invalidate(ratings);
        held.finish('old');
        await pending;
        const next = countingLoader(() => 'new');
        expect(await other.get(queryOf([recipes, ratings]), next)).to.equal('new');
        expect(await q.get(queryOf([recipes, ratings]), next)).to.equal('new');
        expect(next.calls).to.equal(1);
      });

      it('should not let a get that starts after the invalidation join the older load', async () => {
        const recipes = uniqueTable('recipes');
        const held = heldLoader<string>();
        const first = q.get(queryOf([recipes]), held.load);
        await held.started;
        await q.invalidate(recipes);
        const fresh = countingLoader(() => 'new');
        const second = q.get(queryOf([recipes]), fresh);
        held.finish('old');
        expect(await first).to.equal('old');
        expect(await second).to.equal('new');
      });
    });

    describe('concurrent identical gets', () => {
      it('should run the loader once for 100 concurrent calls', async () => {
        const recipes = uniqueTable('recipes');
        const held = heldLoader<string>();
        const all = Array.from({ length: 100 }, () => q.get(queryOf([recipes]), held.load));
        await held.started;
        held.finish('once');
        expect(new Set(await Promise.all(all))).to.deep.equal(new Set(['once']));
        expect(held.calls()).to.equal(1);
      });

      it('should give a failed load to its waiters but not to later callers', async () => {
        const recipes = uniqueTable('recipes');
        const held = heldLoader<string>();
        const both = [q.get(queryOf([recipes]), held.load), q.get(queryOf([recipes]), held.load)];
        await held.started;
        held.fail(new Error('database is locked'));
        for (const result of await Promise.allSettled(both)) {
          expect(result).to.include({ status: 'rejected' });
        }
        expect(held.calls()).to.equal(1);
        expect(await q.get(queryOf([recipes]), async () => 'retried')).to.equal('retried');
      });
    });

    describe('write()', () => {
      it('should run the write, invalidate its tables afterwards and resolve to its result', async () => {
        const recipes = uniqueTable('recipes');
        const loader = countingLoader((call) => call);
        await q.get(queryOf([recipes]), loader);
        let cachedDuringWrite: unknown;
        const result = await q.write([recipes], async () => {
          cachedDuringWrite = await q.get(queryOf([recipes]), loader);
          return { changes: 1 };
        });
        expect(result).to.deep.equal({ changes: 1 });
        expect(cachedDuringWrite).to.equal(1);
        expect(await q.get(queryOf([recipes]), loader)).to.equal(2);
      });

      it('should not invalidate when the write fails, and reject with its error', async () => {
        const recipes = uniqueTable('recipes');
        const loader = countingLoader((call) => call);
        await q.get(queryOf([recipes]), loader);
        const failure = new Error('UNIQUE constraint failed');
        const error = await q
          .write(recipes, () => {
            throw failure;
          })
          .then(
            () => expect.fail('resolved'),
            (e: unknown) => e,
          );
        expect(error).to.equal(failure);
        expect(await q.get(queryOf([recipes]), loader)).to.equal(1);
      });
    });

    describe('events', () => {
      it('should report miss, store and hit with cache "db"', async () => {
        const recipes = uniqueTable('recipes');
        const events: MiddlewareEvent[] = [];
        const off = onEvent((event) => {
          if (event.kind === 'cache') events.push(event);
        });
        try {
          await q.get(queryOf([recipes]), () => 'x');
          await q.get(queryOf([recipes]), () => 'x');
        } finally {
          off();
        }
        expect(events.map((e) => e.kind === 'cache' && `${e.cache}:${e.outcome}`)).to.deep.equal([
          'db:miss',
          'db:store',
          'db:hit',
        ]);
      });

      it('should not store a result above maxEntryBytes', async () => {
        const recipes = uniqueTable('recipes');
        const cache = make({ maxEntryBytes: 100 });
        const loader = countingLoader(() => 'x'.repeat(200));
        await cache.get(queryOf([recipes]), loader);
        await cache.get(queryOf([recipes]), loader);
        expect(loader.calls).to.equal(2);
      });
    });
  });

  describe('without Redis (memory mode)', () => {
    it('should cache, invalidate and close the stale-set race in this process', async () => {
      const q = queryCache({});
      const recipes = uniqueTable('recipes');
      const loader = countingLoader((call) => call);
      await q.get(queryOf([recipes, 'tags']), loader);
      expect(await q.get(queryOf([recipes, 'tags']), loader)).to.equal(1);
      await q.invalidate('tags');
      expect(await q.get(queryOf([recipes, 'tags']), loader)).to.equal(2);

      const held = heldLoader<string>();
      const pending = q.get(queryOf([recipes]), held.load);
      await held.started;
      await q.invalidate(recipes);
      held.finish('old');
      await pending;
      expect(await q.get(queryOf([recipes]), async () => 'new')).to.equal('new');
      const { store } = sharedMemoryBackend();
      for (const table of [recipes, 'tags']) {
        expect(store.pttl(dbKey(table, 'gen'))).to.be.within(30 * MINUTE - 10_000, 30 * MINUTE + 1000);
      }
      await q.close();
    });
  });
});

async function waitUntilGone(client: RedisClient, table: string): Promise<void> {
  const { waitFor } = await import('./support');
  await waitFor(async () => (await client.keys(`db:{${table}}:*`)).filter((k) => !k.endsWith(':gen')).length === 0, {
    what: `the entries of ${table} to expire`,
  });
}
