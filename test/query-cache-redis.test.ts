import { expect } from 'chai';
import calculateSlot from 'cluster-key-slot';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import { type QueryCache, QueryInvalidationError, queryCache } from '../lib/query-cache';
import { dbKey, type RedisClient } from '../lib/redis';
import { countingLoader, heldLoader, queryOf, uniqueTable } from './fixtures/query-cache-helpers';
import { type RedisNode, Standalone, sharedCluster, waitFor } from './support';

/** Commands a node has executed so far, by command (INFO itself left out). */
async function commandCount(node: RedisNode): Promise<Record<string, number>> {
  const stats = await node.info('commandstats');
  const byCommand: Record<string, number> = {};
  for (const [field, value] of Object.entries(stats)) {
    if (!field.startsWith('cmdstat_') || field === 'cmdstat_info') continue;
    byCommand[field.slice('cmdstat_'.length)] = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
  }
  return byCommand;
}

/** The data commands (connection housekeeping left out) a node ran while `run` ran. */
async function dataCommands(node: RedisNode, run: () => Promise<unknown>): Promise<Record<string, number>> {
  const housekeeping = new Set(['subscribe', 'unsubscribe', 'ping', 'client|setinfo', 'client', 'select', 'hello']);
  const before = await commandCount(node);
  await run();
  const after = await commandCount(node);
  const used: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after)) {
    const delta = calls - (before[command] ?? 0);
    if (delta > 0 && !housekeeping.has(command)) used[command] = delta;
  }
  return used;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('resolved'),
    (error: Error) => error,
  );
}

describe('queryCache() against Redis at scale and under failure', () => {
  describe('when Redis is stopped', () => {
    let redis: Standalone;
    let client: RedisClient;
    let q: QueryCache;
    before(async () => {
      redis = await Standalone.start();
      client = redis.client({ commandTimeout: '200ms' });
      q = queryCache({ redis: client, redisTimeout: '200ms' });
    });
    after(async () => {
      await q.close();
      await redis.stop();
    });

    it('should run the loader, report bypass and reject invalidate() with E_QUERY_CACHE_INVALIDATION', async () => {
      const recipes = uniqueTable('recipes');
      const loader = countingLoader((call) => call);
      await q.get(queryOf([recipes]), loader);
      await redis.node.kill();

      const events: MiddlewareEvent[] = [];
      const off = onEvent((event) => {
        if (event.kind === 'cache') events.push(event);
      });
      try {
        expect(await q.get(queryOf([recipes]), loader)).to.equal(2);
      } finally {
        off();
      }
      expect(events).to.deep.include({ kind: 'cache', cache: 'db', outcome: 'bypass', reason: 'redis-unavailable' });

      const error = await rejection(q.invalidate(recipes));
      expect(error).to.be.instanceOf(QueryInvalidationError);
      expect(error).to.include({ code: 'E_QUERY_CACHE_INVALIDATION' });
      expect(q.pendingInvalidations()).to.deep.equal([recipes]);
      expect(await q.write(recipes, () => 'written')).to.equal('written');

      await redis.node.restart();
      await waitFor(() => q.pendingInvalidations().length === 0, { what: 'the invalidation retry to succeed' });
      expect(await q.get(queryOf([recipes]), loader)).to.equal(3);
      expect(await q.get(queryOf([recipes]), loader)).to.equal(3);
    });

    it('should log one line when invalidations start failing and one when they reach Redis again, not one per write', async () => {
      const [recipes, ratings] = [uniqueTable('recipes'), uniqueTable('ratings')];
      await waitFor(async () => (await client.ping().catch(() => '')) === 'PONG', { what: 'Redis to answer' });
      const lines: string[] = [];
      const warn = console.warn;
      console.warn = (line: string) => {
        if (/QUERY_CACHE_INVALIDATION/.test(line)) lines.push(line);
        else warn(line);
      };
      try {
        await redis.node.kill();
        for (let i = 0; i < 2; i++) {
          await q.write([recipes], () => i);
          await q.write([recipes, ratings], () => i);
        }
        expect(q.pendingInvalidations().sort()).to.deep.equal([recipes, ratings].sort());
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(/W_QUERY_CACHE_INVALIDATION_PENDING: .*recipes/);

        await redis.node.restart();
        await waitFor(() => q.pendingInvalidations().length === 0, { what: 'the invalidation retries to succeed' });
        expect(lines).to.have.length(2);
        expect(lines[1]).to.match(/W_QUERY_CACHE_INVALIDATION_RECOVERED: /);
      } finally {
        console.warn = warn;
        if (!redis.node.isRunning) await redis.node.restart();
      }
    });

    it('should never serve an entry a failed invalidation should have dropped, here or on another instance', async () => {
      const recipes = uniqueTable('recipes');
      const other = queryCache({ redis: redis.client({ commandTimeout: '200ms' }), redisTimeout: '200ms' });
      try {
        await waitFor(async () => (await client.ping()) === 'PONG', { what: 'Redis to answer' });
        const loader = countingLoader((call) => call);
        await q.get(queryOf([recipes]), loader);
        expect(await other.get(queryOf([recipes]), loader)).to.equal(1);

        redis.node.freeze();
        try {
          expect(await rejection(q.invalidate(recipes))).to.include({ code: 'E_QUERY_CACHE_INVALIDATION' });
        } finally {
          redis.node.resume();
        }
        // Redis still holds the old entry and generation: this process must not serve it.
        expect(await q.get(queryOf([recipes]), loader)).to.equal(2);

        await waitFor(() => q.pendingInvalidations().length === 0, { what: 'the invalidation retry to succeed' });
        expect(await other.get(queryOf([recipes]), loader)).to.equal(3);
        expect(await q.get(queryOf([recipes]), loader)).to.equal(3);
      } finally {
        await other.close();
      }
    });
  });

  describe('on a Redis of its own (every command counted is the test’s)', () => {
    let redis: Standalone;
    before(async () => {
      redis = await Standalone.start();
    });
    after(async () => {
      await redis.stop();
    });

    describe('with 10 000 cached queries', () => {
      it('should make them all misses with one invalidation of bounded Redis work', async function () {
        this.timeout(60_000);
        const q = queryCache({ redis: redis.client() });
        const recipes = uniqueTable('recipes');
        const loader = countingLoader((call) => call);
        const everyQuery = async () => {
          for (let start = 0; start < 10_000; start += 1000) {
            await Promise.all(Array.from({ length: 1000 }, (_, i) => q.get(queryOf([recipes], start + i), loader)));
          }
        };
        try {
          await everyQuery();
          expect(loader.calls).to.equal(10_000);
          await q.get(queryOf([recipes], 4321), loader);
          expect(loader.calls).to.equal(10_000);

          // Counted on a Redis no other test file uses: every command is this test's.
          const used = await dataCommands(redis.node, () => q.invalidate(recipes));
          // One EVALSHA (plus EVAL if Redis did not know the script yet; the SET inside counts too) and one
          // PUBLISH: nothing that grows with the number of entries.
          const total = Object.values(used).reduce((sum, calls) => sum + calls, 0);
          expect(total, JSON.stringify(used)).to.be.at.most(4);
          expect(Object.keys(used), JSON.stringify(used)).to.satisfy((commands: string[]) =>
            commands.every((command) => ['evalsha', 'eval', 'set', 'publish'].includes(command)),
          );

          await everyQuery();
          expect(loader.calls).to.equal(20_000);
        } finally {
          await q.close();
        }
      });
    });

    it('should read a single-table hit with one MGET, and each other table’s generation with one GET', async () => {
      const q = queryCache({ redis: redis.client() });
      const recipes = uniqueTable('recipes');
      const ratings = uniqueTable('ratings');
      const loader = countingLoader((call) => call);
      try {
        await q.get(queryOf([recipes]), loader);
        await q.get(queryOf([recipes, ratings]), loader);
        expect(await dataCommands(redis.node, () => q.get(queryOf([recipes]), loader))).to.deep.equal({ mget: 1 });
        expect(await dataCommands(redis.node, () => q.get(queryOf([recipes, ratings]), loader))).to.deep.equal({
          mget: 1,
          get: 1,
        });
        expect(loader.calls).to.equal(2);
      } finally {
        await q.close();
      }
    });

    // Regression: the reader kept a token whose creation reply it never saw, and used it again the next
    // time the table had no generation key, so entries stored under it became current again.
    it('should never create a generation with a token already offered, even when the reply to that offer was lost', async () => {
      const q = queryCache({ redis: redis.client({ commandTimeout: '200ms' }), redisTimeout: '200ms' });
      const recipes = uniqueTable('recipes');
      const genKey = dbKey(recipes, 'gen');
      const old = countingLoader(() => 'read before the write');
      try {
        // Redis learns the scripts first (a paused EVALSHA of an unknown script would only reply NOSCRIPT).
        await q.get(queryOf([uniqueTable('warm')]), () => 'warm');
        // Reads pass, scripts wait: the creation runs in Redis after the client gave up on it.
        await redis.node.command('CLIENT', 'PAUSE', 600, 'WRITE');
        expect(await q.get(queryOf([recipes]), old)).to.equal('read before the write');
        await waitFor(async () => (await redis.node.command('EXISTS', genKey)) === 1, {
          what: 'the late creation of the generation',
        });
        // Once the breaker closes again, an entry is stored under that generation.
        await waitFor(
          async () => {
            await q.get(queryOf([recipes]), old);
            return ((await redis.node.command('KEYS', `db:{${recipes}}:*`)) as string[]).length === 2;
          },
          { what: 'an entry stored under the late generation' },
        );
        await q.invalidate(recipes);
        // The generation is lost (evicted, or a failover dropped it).
        await redis.node.command('DEL', genKey);

        const fresh = countingLoader(() => 'read after the write');
        expect(await q.get(queryOf([recipes]), fresh)).to.equal('read after the write');
        expect(fresh.calls).to.equal(1);
      } finally {
        await q.close();
      }
    });
  });

  describe('on Redis Cluster', function () {
    this.timeout(60_000);
    let q: QueryCache;
    let other: QueryCache;
    before(async () => {
      const cluster = await sharedCluster();
      q = queryCache({ redis: cluster.client() });
      other = queryCache({ redis: cluster.client() });
    });
    after(async () => {
      await q.close();
      await other.close();
    });

    it('should cache, share and invalidate queries over tables in different slots', async () => {
      const recipes = uniqueTable('recipes');
      let ratings = uniqueTable('ratings');
      while (calculateSlot(dbKey(ratings, 'gen')) === calculateSlot(dbKey(recipes, 'gen'))) {
        ratings = uniqueTable('ratings');
      }
      const loader = countingLoader((call) => call);
      await q.get(queryOf([recipes, ratings]), loader);
      expect(await other.get(queryOf([recipes, ratings]), loader)).to.equal(1);
      await other.invalidate(ratings);
      expect(await q.get(queryOf([recipes, ratings]), loader)).to.equal(2);
      await q.write([recipes], () => undefined);
      expect(await other.get(queryOf([recipes, ratings]), loader)).to.equal(3);
    });

    it('should close the stale-set race', async () => {
      const recipes = uniqueTable('recipes');
      const held = heldLoader<string>();
      const pending = q.get(queryOf([recipes, 'tags']), held.load);
      await held.started;
      await other.invalidate(recipes);
      held.finish('old');
      await pending;
      expect(await q.get(queryOf([recipes, 'tags']), async () => 'new')).to.equal('new');
    });
  });
});
