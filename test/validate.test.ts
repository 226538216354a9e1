import { expect } from 'chai';
import { assertKnownOptions, closestName } from '../lib/common/validate';

describe('assertKnownOptions()', () => {
  const defaults = { ttl: '5m', maxTtl: '15m', onRedisError: 'allow', sameSite: 'lax' };

  it('should accept options whose keys are all known', () => {
    expect(() => assertKnownOptions({ ttl: '1m', sameSite: 'strict' }, defaults)).not.to.throw();
  });

  it('should treat a key set to undefined as left out, even an unknown one', () => {
    expect(() => assertKnownOptions({ ttl: undefined, tll: undefined }, defaults)).not.to.throw();
  });

  it('should name the misspelt key as written and suggest the closest known name', () => {
    expect(() => assertKnownOptions({ tll: '5m' }, defaults)).to.throw(
      TypeError,
      /^tll option is not known; did you mean ttl\?$/,
    );
    expect(() => assertKnownOptions({ onRedisErorr: 'allow' }, defaults)).to.throw(
      TypeError,
      /^onRedisErorr option is not known; did you mean onRedisError\?$/,
    );
    expect(() => assertKnownOptions({ maxTTL: '1h' }, defaults)).to.throw(
      TypeError,
      /^maxTTL option is not known; did you mean maxTtl\?$/,
    );
  });

  it('should prefix nested names with the path, in the key and in the suggestion', () => {
    expect(() => assertKnownOptions({ samesite: 'strict' }, defaults, 'cookie.')).to.throw(
      TypeError,
      /^cookie\.samesite option is not known; did you mean cookie\.sameSite\?$/,
    );
  });

  it('should list the known options when no name is close', () => {
    expect(() => assertKnownOptions({ colour: 'red' }, defaults)).to.throw(
      TypeError,
      /^colour option is not known; the known options are ttl, maxTtl, onRedisError, sameSite$/,
    );
  });
});

describe('closestName()', () => {
  it('should find names that differ by case, one edit or one transposition', () => {
    const known = ['ttl', 'staleIfError', 'redisTimeout'];
    expect(closestName('TTL', known)).to.equal('ttl');
    expect(closestName('tl', known)).to.equal('ttl');
    expect(closestName('staleIfEror', known)).to.equal('staleIfError');
    expect(closestName('redisTiemout', known)).to.equal('redisTimeout');
  });

  it('should suggest nothing for a name that is not a near miss', () => {
    expect(closestName('db', ['ttl', 'name'])).to.equal(undefined);
    expect(closestName('compression', ['ttl', 'name'])).to.equal(undefined);
  });
});
