import { expect } from 'chai';
import { type MiddlewareEvent, onEvent } from '../lib/common/events';
import { type QueryCache, queryCache } from '../lib/query-cache';
import { deserialize, serialize } from '../lib/query-cache/serializer';
import { countingLoader, queryOf, uniqueTable } from './fixtures/query-cache-helpers';
import { sharedStandalone } from './support';

/** A result set with every column type the cache promises to keep. */
function richRows() {
  return [
    {
      id: 1,
      big: 9007199254740993n,
      negativeBig: -12345678901234567890n,
      created: new Date('2024-05-01T12:34:56.789Z'),
      invalidDate: new Date(Number.NaN),
      photo: Buffer.from([0, 1, 2, 250, 255]),
      bytes: new Uint8Array([9, 8, 7]),
      missing: null,
      flag: true,
      score: 4.25,
      notANumber: Number.NaN,
      infinite: Number.NEGATIVE_INFINITY,
      negativeZero: -0,
      meta: { tags: ['quick', 'veg'], nested: { deep: [1, { x: null }] }, when: new Date(0) },
      escaped: '\u0000d1234',
      unicode: 'crème brûlée 🍮',
    },
    { id: 2, big: 0n, created: null, photo: Buffer.alloc(0), meta: [], escaped: '', unicode: '' },
  ];
}

/** What comes back: a `Uint8Array` is returned as a `Buffer`. */
function expected(rows: ReturnType<typeof richRows>) {
  return rows.map((row) => (row.bytes instanceof Uint8Array ? { ...row, bytes: Buffer.from(row.bytes) } : row));
}

describe('queryCache() serializer', () => {
  it('should round-trip Date, BigInt, Buffer, null, NaN, -0 and nested JSON columns', () => {
    const rows = richRows();
    const back = deserialize(serialize(rows)) as ReturnType<typeof richRows>;
    expect(back).to.deep.equal(expected(rows));
    const [first] = back;
    expect(first?.created).to.be.instanceOf(Date);
    expect(typeof first?.big).to.equal('bigint');
    expect(Buffer.isBuffer(first?.photo)).to.equal(true);
    expect(Object.is(first?.negativeZero, -0)).to.equal(true);
    expect(first?.escaped).to.equal('\u0000d1234');
  });

  it('should write plain JSON (read without a reviver) when no value needs a tag', () => {
    const text = serialize([{ id: 1, title: 'Soup', tags: ['a'], meta: { n: null } }]);
    expect(text).to.equal('J[{"id":1,"title":"Soup","tags":["a"],"meta":{"n":null}}]');
  });

  it('should keep top-level undefined, null and scalars', () => {
    for (const value of [undefined, null, 0, '', 'x', true, 12n, []]) {
      expect(deserialize(serialize(value))).to.deep.equal(value);
    }
  });

  it('should leave out properties set to undefined, as JSON does', () => {
    expect(deserialize(serialize({ a: 1, b: undefined }))).to.deep.equal({ a: 1 });
  });

  it('should refuse values it cannot give back unchanged', () => {
    class Row {
      id = 1;
    }
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const value of [new Map(), new Set(), new Row(), () => 1, Symbol('s'), circular]) {
      expect(() => serialize(value)).to.throw(TypeError, /^cannot cache a/);
    }
  });

  describe('through Redis', () => {
    let q: QueryCache;
    before(async () => {
      q = queryCache({ redis: (await sharedStandalone()).client() });
    });
    after(() => q.close());

    it('should give back rows with every supported type from a hit', async () => {
      const recipes = uniqueTable('recipes');
      const loader = countingLoader(() => richRows());
      await q.get(queryOf([recipes]), loader);
      const hit = await q.get(queryOf([recipes]), loader);
      expect(loader.calls).to.equal(1);
      expect(hit).to.deep.equal(expected(richRows()));
    });

    it('should return an unsupported result uncached and report why', async () => {
      const recipes = uniqueTable('recipes');
      const events: MiddlewareEvent[] = [];
      const off = onEvent((event) => events.push(event));
      const loader = countingLoader(() => new Map([['a', 1]]));
      try {
        expect(await q.get(queryOf([recipes]), loader)).to.deep.equal(new Map([['a', 1]]));
        await q.get(queryOf([recipes]), loader);
      } finally {
        off();
      }
      expect(loader.calls).to.equal(2);
      expect(events).to.deep.include({
        kind: 'cache',
        cache: 'db',
        outcome: 'skip',
        reason: 'unserializable',
        detail: 'cannot cache a Map object',
      });
    });
  });
});
