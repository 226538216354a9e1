import zlib from 'node:zlib';
import { expect } from 'chai';
import { AiCacheValueError, aiCache } from '../lib/ai-cache';
import { captureEvents, recipeText, storedEntry, uniqueModel, useSharedClient } from './fixtures/ai-cache-helpers';
import { waitFor } from './support';

describe('aiCache() entries', () => {
  const shared = useSharedClient();

  /** Stores `value` through one cached function and reads it back through a fresh one (no in-process sharing). */
  async function roundTrip<T>(value: T, options: { compressAbove?: number } = {}): Promise<T> {
    const model = uniqueModel('values');
    const write = aiCache({ redis: shared.client, model, ...options }, async (_q: string) => value);
    await write('q');
    await storedEntry(shared.client, write.keyFor('q'));
    const read = aiCache({ redis: shared.client, model, ...options }, async (_q: string): Promise<T> => {
      throw new Error('expected a hit');
    });
    return read('q') as Promise<T>;
  }

  describe('values', () => {
    it('should round-trip strings, numbers, booleans, null, arrays and nested objects', async () => {
      const value = {
        text: 'Omelette 🍳 — “ünïcode”',
        n: 42.5,
        big: Number.MAX_SAFE_INTEGER,
        yes: true,
        nothing: null,
        list: [1, 'two', [3, { four: 4 }], null],
        nested: { a: { b: { c: ['deep'] } } },
      };
      expect(await roundTrip(value)).to.deep.equal(value);
      expect(await roundTrip('just a string')).to.equal('just a string');
      expect(await roundTrip('')).to.equal('');
      expect(await roundTrip(7)).to.equal(7);
      expect(await roundTrip(null)).to.equal(null);
      expect(await roundTrip([])).to.deep.equal([]);
    });

    it('should round-trip what JSON would change: Date, Buffer, Uint8Array, undefined, NaN, -0, Map, Set, bigint', async () => {
      const value = {
        at: new Date('2026-01-02T03:04:05.678Z'),
        image: Buffer.from([0, 1, 2, 255]),
        bytes: new Uint8Array([9, 8, 7]),
        missing: undefined,
        holes: [undefined, 1],
        nan: Number.NaN,
        negativeZero: -0,
        infinite: Number.NEGATIVE_INFINITY,
        map: new Map<unknown, unknown>([
          ['a', 1],
          [2, new Date(0)],
        ]),
        set: new Set(['x', 'y']),
        big: 12345678901234567890n,
        $rm: 'a field named like our tag',
      };
      const back = await roundTrip(value);
      expect(back).to.deep.equal(value);
      expect(back.at).to.be.instanceOf(Date);
      expect(Buffer.isBuffer(back.image)).to.equal(true);
      expect(Buffer.isBuffer(back.bytes)).to.equal(false);
      expect(Object.is(back.negativeZero, -0)).to.equal(true);
      expect(Object.hasOwn(back, 'missing')).to.equal(true);
      expect(await roundTrip(new Date(5))).to.deep.equal(new Date(5));
    });

    it('should reject a value it cannot store faithfully with a clear error at write time', async () => {
      class Recipe {
        constructor(readonly title: string) {}
      }
      let inferences = 0;
      const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async (_q: string) => {
        inferences++;
        return { recipe: new Recipe('soup') };
      });
      const error = await suggest('q').then(
        () => expect.fail('resolved'),
        (e: unknown) => e as AiCacheValueError,
      );
      expect(error).to.be.instanceOf(AiCacheValueError);
      expect(error.code).to.equal('E_AI_CACHE_VALUE');
      expect(error.message).to.match(/cannot store an instance of Recipe \(at property "recipe"\)/);
      const fnError = await aiCache({ redis: shared.client, model: uniqueModel() }, async () => ({
        f: () => 1,
      }))().then(
        () => expect.fail('resolved'),
        (e: Error) => e,
      );
      expect(fnError.message).to.match(/cannot store a function \(at property "f"\)/);
      expect(inferences).to.equal(1);
    });
  });

  describe('compression', () => {
    it('should store entries below compressAbove as they are and larger ones compressed', async () => {
      const small = aiCache(
        { redis: shared.client, model: uniqueModel(), compressAbove: 1024 },
        async (q: string) => q,
      );
      const below = recipeText(1023);
      const above = recipeText(1024);
      await small(below);
      await small(above);
      const belowEntry = await storedEntry(shared.client, small.keyFor(below));
      const aboveEntry = await storedEntry(shared.client, small.keyFor(above));
      expect(belowEntry[1], 'codec byte below the threshold').to.equal(0);
      expect(belowEntry.length).to.equal(8 + 1023);
      expect(aboveEntry[1], 'codec byte above the threshold (brotli)').to.equal(2);
      expect(aboveEntry.length).to.be.below(1024);
    });

    it('should store text at no more than 35 % of its size and report both sizes', async () => {
      const capture = captureEvents();
      try {
        const text = recipeText(50_000);
        const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async (_q: string) => text);
        await suggest('q');
        const entry = await storedEntry(shared.client, suggest.keyFor('q'));
        const store = capture.events.find((e) => e.outcome === 'store');
        expect(store).to.include({ rawBytes: 50_000, storedBytes: entry.length });
        expect(entry.length / 50_000).to.be.below(0.35);
        const fresh = aiCache(
          { redis: shared.client, model: suggest.keyFor('q').split(':')[1] as string },
          async (_q: string) => 'miss',
        );
        expect(await fresh('q')).to.equal(text);
      } finally {
        capture.stop();
      }
    });

    it('should keep reading entries written with another codec after the option changed', async () => {
      const model = uniqueModel();
      const text = recipeText(5000);
      const before = aiCache({ redis: shared.client, model, compression: 'gzip' }, async (_q: string) => text);
      await before('q');
      const entry = await storedEntry(shared.client, before.keyFor('q'));
      expect(entry[1], 'gzip codec byte').to.equal(1);
      for (const compression of ['brotli', 'none'] as const) {
        const after = aiCache({ redis: shared.client, model, compression }, async (_q: string) => 'recomputed');
        expect(await after('q')).to.equal(text);
      }
    });

    it('should never answer from the decoded-entry memo once Redis holds other bytes', async () => {
      const model = uniqueModel();
      let inferences = 0;
      const make = (version: number) =>
        aiCache({ redis: shared.client, model }, async (_q: string) => {
          inferences++;
          return recipeText(4000).replace(/^./, String(version));
        });
      const reader = make(1);
      const key = reader.keyFor('q');
      const first = await reader('q');
      const firstBytes = await storedEntry(shared.client, key);
      expect(await reader('q')).to.equal(first); // decoded from Redis, now remembered
      // Another instance overwrites the entry.
      const second = await make(2).with({ refresh: true })('q');
      expect(second).to.not.equal(first);
      await waitFor(async () => !(await shared.client.getBuffer(key))?.equals(firstBytes), { what: 'the new entry' });
      expect(await reader('q')).to.equal(second);
      await shared.client.del(key);
      expect(await reader('q')).to.equal(first.replace(/^./, '1'));
      expect(inferences, 'a deleted entry is a miss, not a memo hit').to.equal(3);
    });

    it('should give every hit its own copy of an object result, also from the decoded-entry memo', async () => {
      const answer = { text: recipeText(4000), tags: ['quick'] };
      const model = uniqueModel();
      const writer = aiCache({ redis: shared.client, model }, async (_q: string) => answer);
      await writer('q');
      await storedEntry(shared.client, writer.keyFor('q'));
      const reader = aiCache({ redis: shared.client, model }, async (_q: string) => ({
        text: 'miss',
        tags: [] as string[],
      }));
      const first = await reader('q');
      first.tags.push('mutated by a caller');
      const second = await reader('q');
      expect(second).to.deep.equal(answer);
      expect(second).to.not.equal(first);
    });

    it('should treat an entry that inflates beyond its announced size (a zip bomb) as a miss', async () => {
      const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async (_q: string) => 'computed');
      const key = suggest.keyFor('q');
      // 64 MiB of zeros in a few KB, announced as 100 bytes.
      const bomb = zlib.brotliCompressSync(Buffer.alloc(64 * 1024 * 1024), {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 },
      });
      expect(bomb.length).to.be.below(64 * 1024);
      const header = Buffer.from([0xa1, 2, 0, 0, 0, 0, 0, 100]);
      await shared.client.set(key, Buffer.concat([header, bomb]));
      expect(await suggest('q')).to.equal('computed');
    });

    it('should treat an entry that claims more than maxSize, or is not an entry, as a miss', async () => {
      const suggest = aiCache(
        { redis: shared.client, model: uniqueModel(), maxSize: 1000 },
        async (q: string) => `computed ${q}`,
      );
      const claim = Buffer.from([0xa1, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]);
      await shared.client.set(suggest.keyFor('a'), claim);
      await shared.client.set(suggest.keyFor('b'), 'plain text someone else wrote');
      expect(await suggest('a')).to.equal('computed a');
      expect(await suggest('b')).to.equal('computed b');
    });

    it('should not store results above maxSize, but still return them', async () => {
      const capture = captureEvents();
      try {
        const big = recipeText(5000);
        const suggest = aiCache(
          { redis: shared.client, model: uniqueModel(), maxSize: 4096 },
          async (_q: string) => big,
        );
        expect(await suggest('q')).to.equal(big);
        await new Promise((resolve) => setImmediate(resolve));
        expect(capture.events.find((e) => e.outcome === 'skip')).to.include({ reason: 'too-large', rawBytes: 5000 });
        expect(await shared.client.exists(suggest.keyFor('q'))).to.equal(0);
      } finally {
        capture.stop();
      }
    });
  });
});
