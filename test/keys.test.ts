import { expect } from 'chai';
import {
  aiKey,
  canonicalJson,
  dbKey,
  encodeKeyPart,
  hashCanonical,
  MAX_PART_LENGTH,
  rateKey,
  sessionKey,
} from '../lib/redis';

const FORBIDDEN = /[{}*?[\]:\s|]/;
const HOSTILE = ['{tag}', 'a:b', '*', '?', '[a-z]', 'white space\t\n', 'x|y', '%41', '__proto__', '🧑‍🍳 ünïcode', ''];

describe('key builder', () => {
  describe('encodeKeyPart()', () => {
    it('should never emit a brace, colon, glob character, pipe or whitespace', () => {
      for (const input of [...HOSTILE, '}{:*?[]| \u00a0\u2028']) {
        expect(encodeKeyPart(input)).to.not.match(FORBIDDEN);
      }
    });

    it('should keep readable parts readable', () => {
      expect(encodeKeyPart('/recipes/:id')).to.equal('/recipes/%3Aid');
      expect(encodeKeyPart('chef-1')).to.equal('chef-1');
      expect(encodeKeyPart('u42')).to.equal('u42');
    });

    it('should give distinct outputs for distinct inputs', () => {
      const inputs = [...HOSTILE, '%7B', '{', '%', '%25', 'a', 'A', '!', '%21'];
      const outputs = new Set(inputs.map(encodeKeyPart));
      expect(outputs.size).to.equal(inputs.length);
    });

    it('should hash parts that would be too long, still distinctly', () => {
      const long = 'x'.repeat(10_000);
      const encoded = encodeKeyPart(long);
      expect(encoded).to.match(/^![0-9a-f]{32}$/);
      expect(encodeKeyPart(`${long}y`)).to.not.equal(encoded);
      expect(encodeKeyPart('x'.repeat(MAX_PART_LENGTH))).to.equal('x'.repeat(MAX_PART_LENGTH));
    });
  });

  describe('rateKey()', () => {
    it('should follow rate:{subject|endpoint}:window', () => {
      expect(rateKey('u42', '/ai/suggest', '1m')).to.equal('rate:{u42|/ai/suggest}:1m');
    });

    it('should not let "a:b" + "c" collide with "a" + ":b:c" or open a second hash tag', () => {
      expect(rateKey('a:b', 'c', '1m')).to.not.equal(rateKey('a', ':b:c', '1m'));
      expect(rateKey('a|b', 'c', '1m')).to.not.equal(rateKey('a', 'b|c', '1m'));
      const key = rateKey('}{evil}', '*', '1m');
      expect(key.match(/[{}]/g)).to.deep.equal(['{', '}']);
    });

    it('should keep every window of one subject and endpoint in one hash tag', () => {
      const tag = (key: string) => key.slice(key.indexOf('{'), key.indexOf('}') + 1);
      expect(tag(rateKey('u1', '/x', '1m'))).to.equal(tag(rateKey('u1', '/x', '1d')));
    });
  });

  describe('other patterns', () => {
    it('should build session:, ai:, db: keys', () => {
      expect(sessionKey('abcDEF-_123')).to.equal('session:abcDEF-_123');
      expect(aiKey('chef-1', 'f'.repeat(32))).to.equal(`ai:chef-1:${'f'.repeat(32)}`);
      expect(dbKey('recipes', '9f86')).to.equal('db:{recipes}:9f86');
      expect(dbKey('re{ci}pes', 'x')).to.equal('db:{re%7Bci%7Dpes}:x');
    });
  });

  describe('canonical hashing', () => {
    it('should hash objects with the same members the same, whatever their key order', () => {
      expect(hashCanonical({ a: 1, b: 2 })).to.equal(hashCanonical({ b: 2, a: 1 }));
      expect(hashCanonical({ x: { a: [1, { c: 3, d: 4 }], b: 2 } })).to.equal(
        hashCanonical({ x: { b: 2, a: [1, { d: 4, c: 3 }] } }),
      );
    });

    it('should tell different values apart', () => {
      expect(hashCanonical({ a: 1 })).to.not.equal(hashCanonical({ a: '1' }));
      expect(hashCanonical([1, 2])).to.not.equal(hashCanonical([2, 1]));
      expect(hashCanonical({ a: undefined })).to.equal(hashCanonical({}));
    });

    it('should be 32 hex characters of SHA-256', () => {
      expect(hashCanonical('x')).to.match(/^[0-9a-f]{32}$/);
    });

    it('should treat a __proto__ member as data, not a prototype', () => {
      const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
      expect(canonicalJson(parsed)).to.equal('{"__proto__":{"polluted":true},"a":1}');
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('should write BigInt, Date, Map and Set without throwing', () => {
      const text = canonicalJson({
        n: 10n,
        d: new Date(0),
        m: new Map([
          ['b', 1],
          ['a', 2],
        ]),
        s: new Set([1]),
      });
      expect(text).to.equal('{"d":"1970-01-01T00:00:00.000Z","m":{"a":2,"b":1},"n":"10n","s":[1]}');
    });

    it('should refuse a circular structure with a TypeError', () => {
      const loop: Record<string, unknown> = {};
      loop.self = loop;
      expect(() => canonicalJson(loop)).to.throw(TypeError, /circular/);
    });
  });
});
