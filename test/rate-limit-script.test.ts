import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { WindowConfig } from '../lib/rate-limit/options';
import { slidingWindowLua, slidingWindowScript } from '../lib/rate-limit/script';
import type { RedisClient } from '../lib/redis';
import { MemoryStore } from '../lib/redis/memory-store';
import { sharedStandalone } from './support';

/** A window as options.ts builds it: `buckets` buckets of `windowMs / buckets` ms. */
function windowOf(label: string, windowMs: number, limit: number, buckets: number): WindowConfig {
  const bucketMs = Math.max(1, Math.floor(windowMs / buckets));
  return { label, keySuffix: label, windowMs, limit, bucketMs, bucketCount: Math.ceil(windowMs / bucketMs) };
}

/** A small deterministic generator (mulberry32), so a failure replays the same sequence. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CLOCK_LINE = /local clock = redis\.call\('TIME'\)\nlocal now = [^\n]+\n/;

describe('sliding-window script against its memory twin, step for step', () => {
  let redis: RedisClient;

  before(async () => {
    redis = (await sharedStandalone()).client();
  });

  after(async () => {
    await redis.quit();
  });

  const configurations: Array<[string, WindowConfig[]]> = [
    ['one window', [windowOf('10s', 10_000, 6, 5)]],
    ['three windows', [windowOf('10s', 10_000, 5, 5), windowOf('1m', 60_000, 12, 6), windowOf('1h', 3_600_000, 30, 4)]],
  ];

  for (const [what, windows] of configurations) {
    it(`should give the same reply as the twin through pruning, rejections, waits and peeks (${what})`, async () => {
      // The script as a limiter runs it, with its clock line replaced by ARGV[2], so both sides see one time.
      const lua = slidingWindowLua(windows);
      expect(lua).to.match(CLOCK_LINE);
      const onFixedClock = lua.replace(CLOCK_LINE, 'local now = tonumber(ARGV[2])\n');
      const twin = slidingWindowScript(windows);
      const store = new MemoryStore();
      const keys = windows.map((w) => `rate:{twin-${randomUUID()}|all}:${w.keySuffix}`);
      const next = random(17);
      const steps = [0, 0, 1, 40, 900, 2_100, 7_000, 11_000, 31_000, 70_000, 400_000];
      const costs = [0, 1, 1, 1, 1, 2, 3, 40];
      let now = 1_800_000_000_000;
      const seen = { allowed: 0, rejected: 0, never: 0, peeks: 0 };
      for (let step = 0; step < 400; step++) {
        now += steps[Math.floor(next() * steps.length)] as number;
        const cost = costs[Math.floor(next() * costs.length)] as number;
        const args = [String(cost), String(now)];
        const fromRedis = await redis.eval(onFixedClock, keys.length, ...keys, ...args);
        const fromTwin = twin.memory(store, keys, args, now);
        expect(fromRedis, `step ${step}: cost ${cost} at ${now}`).to.deep.equal(fromTwin);
        const [allowed, retry] = fromTwin as number[];
        if (cost === 0) seen.peeks++;
        else if (allowed === 1) seen.allowed++;
        else if (retry === -1) seen.never++;
        else seen.rejected++;
      }
      // The sequence went through every path the reply can tell apart.
      expect(seen.allowed).to.be.above(20);
      expect(seen.rejected).to.be.above(20);
      expect(seen.never).to.be.above(5);
      expect(seen.peeks).to.be.above(5);
    });
  }
});
