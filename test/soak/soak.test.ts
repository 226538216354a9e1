// Soak and bounds: half of capacity for SOAK_MINUTES with flat memory and TTLs everywhere; hostile volume bounded.
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import { Load, login } from '../faults/load';
import { startStack } from '../faults/stack';
import { Standalone } from '../support';

/** Soak length: `SOAK_MINUTES` (default 10, the soak; `SOAK_MINUTES=1` for a CI-sized run). */
const SOAK_MS = Number(process.env.SOAK_MINUTES ?? 10) * 60_000;
/** Distinct IPs, URLs and AI inputs of the hostile run: `HOSTILE_COUNT` (default 100 000). */
const HOSTILE_COUNT = Number(process.env.HOSTILE_COUNT ?? 100_000);
/** The cache instance's memory bound, as production should configure it. */
const CACHE_MAXMEMORY = 32 * 1024 * 1024;
const MB = 1024 * 1024;

const usedMemory = async (redis: Standalone): Promise<number> => Number((await redis.node.info('memory')).used_memory);

/** Every key of an instance by family (the part before the first ':'), with how many have no expiry. */
async function keyFamilies(redis: Standalone): Promise<Record<string, { keys: number; withoutTtl: string[] }>> {
  const families: Record<string, { keys: number; withoutTtl: string[] }> = {};
  let cursor = '0';
  do {
    const [next, keys] = (await redis.node.command('SCAN', cursor, 'COUNT', 1000)) as [string, string[]];
    cursor = next;
    for (const key of keys) {
      const family = key.split(':')[0] as string;
      families[family] ??= { keys: 0, withoutTtl: [] };
      const entry = families[family];
      entry.keys++;
      // Every key of a sample of each family is checked (all of them while a family is small).
      if (entry.keys <= 500 || entry.keys % 50 === 0) {
        const ttl = Number(await redis.node.command('PTTL', key));
        // -1: no expiry (a leak); -2: the key expired between SCAN and PTTL, as keys with a TTL do.
        if (ttl === -1) entry.withoutTtl.push(key);
      }
    }
  } while (cursor !== '0');
  return families;
}

function expectEveryKeyToExpire(families: Record<string, { keys: number; withoutTtl: string[] }>): void {
  const without = Object.entries(families).flatMap(([, f]) => f.withoutTtl);
  expect(without, 'keys without a TTL').to.deep.equal([]);
}

describe('soak and bounds', function () {
  this.timeout(SOAK_MS + 30 * 60_000);
  let store: Standalone;
  let cache: Standalone;

  before(async () => {
    // As the production guide says: sessions and limits never evicted; caches evicted LRU within their bound.
    store = await Standalone.start(['maxmemory-policy noeviction']);
    cache = await Standalone.start([`maxmemory ${CACHE_MAXMEMORY}`, 'maxmemory-policy allkeys-lru']);
  });
  after(async () => {
    await store.stop();
    await cache.stop();
  });

  it(`should keep RSS and Redis memory flat at half capacity for ${SOAK_MS / 60_000} min, every key with a TTL`, async () => {
    const stack = await startStack({ redis: store.client(), cacheRedis: cache.client() });
    try {
      const cookies = await Promise.all(
        Array.from({ length: 200 }, (_, i) => login(stack.url, `soak-${i}`, `10.7.0.${i}`)),
      );
      const pools = { cookies, ips: 2000, aiInputs: 300, listPages: 10 };

      // Capacity: unpaced workers for a few seconds.
      const probe = new Load({ url: stack.url, ...pools, workers: 8, ratePerWorker: 100_000, keepSamples: false });
      await delay(4000);
      await probe.stop();
      const capacity = probe.stats.answered / 4;
      const rate = Math.max(20, capacity / 2);

      const load = new Load({ url: stack.url, ...pools, workers: 4, ratePerWorker: rate / 4, keepSamples: false });
      const points: Array<{ at: number; rss: number; store: number; cache: number }> = [];
      const started = Date.now();
      while (Date.now() - started < SOAK_MS) {
        await delay(Math.min(10_000, SOAK_MS / 12));
        points.push({
          at: Date.now() - started,
          rss: process.memoryUsage().rss,
          store: await usedMemory(store),
          cache: await usedMemory(cache),
        });
      }
      await load.stop();
      const families = { ...(await keyFamilies(store)), ...(await keyFamilies(cache)) };

      // After warm-up (the first third), memory stays flat: the last point is within bounds of the first.
      const warm = points.filter((p) => p.at >= SOAK_MS / 3);
      const first = warm[0] as (typeof points)[number];
      const last = warm[warm.length - 1] as (typeof points)[number];
      const summary = `capacity ${Math.round(capacity)} req/s, soak ${Math.round(rate)} req/s, ${load.stats.answered} requests, slowest ${load.stats.maxMs} ms, ${load.stats.slow} over 1020 ms, statuses ${JSON.stringify(load.stats.byStatus)}; RSS ${(first.rss / MB).toFixed(0)}→${(last.rss / MB).toFixed(0)} MB, store used_memory ${(first.store / MB).toFixed(1)}→${(last.store / MB).toFixed(1)} MB, cache ${(first.cache / MB).toFixed(1)}→${(last.cache / MB).toFixed(1)} MB; keys ${JSON.stringify(Object.fromEntries(Object.entries(families).map(([k, f]) => [k, f.keys])))}`;
      console.log(`      [soak] ${summary}`);

      expect(
        Object.keys(load.stats.byStatus).filter((k) => / (0|5\d\d)$/.test(k)),
        'failed or 5xx answers',
      ).to.deep.equal([]);
      expect(load.stats.slow, 'answers slower than the bound').to.equal(0);
      expect(last.rss, 'process RSS after warm-up').to.be.below(first.rss * 1.25 + 30 * MB);
      expect(last.store, 'sessions/limits Redis used_memory after warm-up').to.be.below(first.store * 1.1 + 2 * MB);
      expect(last.cache, 'cache Redis used_memory after warm-up').to.be.below(first.cache * 1.1 + 2 * MB);
      for (const family of ['session', 'rate', 'api', 'ai', 'db']) {
        expect(families[family]?.keys ?? 0, `keys of ${family}:`).to.be.above(0);
      }
      expectEveryKeyToExpire(families);
    } finally {
      await stack.close();
    }
  });

  it(`should bound memory by configuration under ${HOSTILE_COUNT} distinct IPs, URLs and AI inputs`, async () => {
    await store.flush();
    await cache.flush();
    const stack = await startStack({ redis: store.client(), cacheRedis: cache.client(), modelDelayMs: 0 });
    try {
      const rssBefore = process.memoryUsage().rss;
      const storeBefore = await usedMemory(store);
      const statuses: Record<number, number> = {};
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < HOSTILE_COUNT; i = next++) {
          const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
          const answers = await Promise.all([
            fetch(`${stack.url}/recipes?page=${1000 + i}`, { headers: { 'x-forwarded-for': ip } }),
            fetch(`${stack.url}/ai/suggest`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
              body: JSON.stringify({ ingredients: [`hostile-${i}`, 'x'.repeat(30)] }),
            }),
          ]);
          for (const res of answers) {
            await res.arrayBuffer();
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          }
        }
      };
      const started = Date.now();
      await Promise.all(Array.from({ length: 12 }, worker));
      const seconds = (Date.now() - started) / 1000;
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      const cacheUsed = await usedMemory(cache);
      const storeGrowth = (await usedMemory(store)) - storeBefore;
      const evicted = Number((await cache.node.info('stats')).evicted_keys);
      const families = { ...(await keyFamilies(store)), ...(await keyFamilies(cache)) };
      console.log(
        `      [hostile] ${HOSTILE_COUNT} × 2 requests in ${seconds.toFixed(0)} s; statuses ${JSON.stringify(statuses)}; RSS +${(rssGrowth / MB).toFixed(0)} MB; cache used_memory ${(cacheUsed / MB).toFixed(1)} MB of ${CACHE_MAXMEMORY / MB} MB (${evicted} evicted); sessions/limits +${(storeGrowth / MB).toFixed(1)} MB (${Math.round(storeGrowth / HOSTILE_COUNT)} bytes per client IP, expiring with the 1-day window); keys ${JSON.stringify(Object.fromEntries(Object.entries(families).map(([k, f]) => [k, f.keys])))}`,
      );
      expect(
        Object.keys(statuses).filter((s) => s === '0' || s.startsWith('5')),
        'failed or 5xx answers',
      ).to.deep.equal([]);
      // Redis: the cache instance stays within maxmemory (LRU eviction); every key expires.
      expect(cacheUsed).to.be.below(CACHE_MAXMEMORY * 1.05);
      expectEveryKeyToExpire(families);
      // The process: in-memory structures are bounded (L1 1000 entries, decoded memo 8 MiB, insurance idle).
      expect(rssGrowth, 'process RSS growth').to.be.below(200 * MB);
    } finally {
      await stack.close();
    }
  });
});
