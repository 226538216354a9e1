import { expect } from 'chai';
import type { Redis } from 'ioredis';
import {
  aiCache,
  createRedis,
  prometheusMetrics,
  queryCache,
  rateLimit,
  redisHealth,
  responseCache,
  sessions,
} from '../lib';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const misspelt = (key: string, suggestion: string) =>
  new RegExp(
    `^${key.replace(/[.()[\]]/g, '\\$&')} option is not known; did you mean ${suggestion.replace(/[.()[\]]/g, '\\$&')}\\?$`,
  );

describe('strict options', () => {
  describe('queryCache()', () => {
    it('should reject a misspelt option with the closest known name', () => {
      expect(() => queryCache({ maxTTL: '1h' } as never)).to.throw(TypeError, misspelt('maxTTL', 'maxTtl'));
    });

    it('should keep tables open: table names are data', () => {
      expect(() => queryCache({ tables: { recipes: '15m', tll: '5m' } })).not.to.throw();
    });
  });

  describe('responseCache()', () => {
    it('should reject a misspelt option with the closest known name', () => {
      expect(() => responseCache({ tll: '5m' } as never)).to.throw(TypeError, misspelt('tll', 'ttl'));
    });

    it('should treat a known option set to undefined as left out', () => {
      expect(() => responseCache({ ttl: undefined, redis: undefined, name: undefined })).not.to.throw();
    });

    it('should reject a misspelt invalidate() target field', () => {
      const cache = responseCache({});
      expect(() => cache.invalidate({ tag: ['recipes'] } as never)).to.throw(
        TypeError,
        misspelt('invalidate() tag', 'tags'),
      );
      expect(() => responseCache.invalidate({}, { route: ['/x'] } as never)).to.throw(
        TypeError,
        misspelt('invalidate() route', 'routes'),
      );
    });

    it('should reject a misspelt invalidator() option', () => {
      expect(() => responseCache.invalidator({ redisTimout: '1s' } as never)).to.throw(
        TypeError,
        misspelt('redisTimout', 'redisTimeout'),
      );
    });
  });

  describe('rateLimit()', () => {
    it('should reject a misspelt option with the closest known name', () => {
      expect(() => rateLimit({ windows: { '1m': 10 }, onRedisErorr: 'allow' } as never)).to.throw(
        TypeError,
        misspelt('onRedisErorr', 'onRedisError'),
      );
    });

    it('should keep windows open: window lengths are data', () => {
      expect(() => rateLimit({ windows: { '1m': 10, 2000: 20 } })).not.to.throw();
    });

    it('should reject a misspelt field of a { window, limit } item', () => {
      expect(() => rateLimit({ windows: [{ window: '1m', limit: 10, limt: 5 }] as never })).to.throw(
        TypeError,
        misspelt('windows[0].limt', 'windows[0].limit'),
      );
    });
  });

  describe('sessions()', () => {
    it('should reject a misspelt option with the closest known name', () => {
      expect(() => sessions({ secret, rolling: true, tll: '1h' } as never)).to.throw(TypeError, misspelt('tll', 'ttl'));
    });

    it('should reject a misspelt cookie attribute with the closest known one', () => {
      expect(() => sessions({ secret, cookie: { samesite: 'strict' } } as never)).to.throw(
        TypeError,
        misspelt('cookie.samesite', 'cookie.sameSite'),
      );
    });

    it('should reject a misspelt errorHandler() option', () => {
      expect(() => sessions.errorHandler({ retryafter: '2s' } as never)).to.throw(
        TypeError,
        misspelt('retryafter', 'retryAfter'),
      );
    });
  });

  describe('aiCache()', () => {
    const model = async (input: string) => input;

    it('should reject a misspelt option with the closest known name', () => {
      expect(() => aiCache({ model: 'm', lockTTL: '5s' } as never, model)).to.throw(
        TypeError,
        misspelt('lockTTL', 'lockTtl'),
      );
    });

    it('should reject a misspelt field of key: { omit }', () => {
      expect(() => aiCache({ model: 'm', key: { omitt: ['id'] } } as never, model)).to.throw(
        TypeError,
        misspelt('key.omitt', 'key.omit'),
      );
    });

    it('should reject a misspelt with() control', () => {
      const cached = aiCache({ model: 'm' }, model);
      expect(() => cached.with({ refesh: true } as never)).to.throw(TypeError, misspelt('with() refesh', 'refresh'));
    });

    it('should reject a misspelt warm() option', async () => {
      const cached = aiCache({ model: 'm' }, model);
      const error = await cached.warm([['a']], { concurency: 2 } as never).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(misspelt('warm() concurency', 'concurrency'));
    });
  });

  describe('createRedis()', () => {
    const opened: Array<{ disconnect(): void }> = [];
    afterEach(() => {
      for (const client of opened.splice(0)) client.disconnect();
    });
    const make = (...args: Parameters<typeof createRedis>) => {
      const client = createRedis(...args);
      opened.push(client);
      return client;
    };

    it('should reject a misspelt option with the closest known name', () => {
      expect(() => make('redis://127.0.0.1:1', { commandTimout: '1s' } as never)).to.throw(
        TypeError,
        misspelt('commandTimout', 'commandTimeout'),
      );
    });

    it('should reject a misspelt field of each target kind', () => {
      expect(() => make({ url: 'redis://127.0.0.1:1', bd: 1 } as never)).to.throw(TypeError, misspelt('bd', 'db'));
      expect(() => make({ sentinels: '127.0.0.1:1', name: 'm', pasword: 'x' } as never)).to.throw(
        TypeError,
        misspelt('pasword', 'password'),
      );
      expect(() => make({ cluster: '127.0.0.1:1', passwd: 'x' } as never)).to.throw(
        TypeError,
        misspelt('passwd', 'password'),
      );
      expect(() => make({ clusters: '127.0.0.1:1' } as never)).to.throw(TypeError, misspelt('clusters', 'cluster'));
    });

    it('should apply a db given in a Sentinel target', () => {
      const client = make({ sentinels: '127.0.0.1:1', name: 'mymaster', db: 2 }) as Redis;
      expect(client.options.db).to.equal(2);
    });

    it('should apply a db given in a URL target over the URL database', () => {
      const client = make({ url: 'redis://127.0.0.1:1/5', db: 3 }) as Redis;
      expect(client.options.db).to.equal(3);
    });

    it('should reject a db in a Cluster target', () => {
      expect(() => make({ cluster: ['127.0.0.1:7000'], db: 2 } as never)).to.throw(
        TypeError,
        /^db option cannot be used with Redis Cluster/,
      );
    });

    it('should reject two different dbs for one client', () => {
      expect(() => make({ sentinels: '127.0.0.1:1', name: 'm', db: 2 }, { db: 3 })).to.throw(
        TypeError,
        /^db is given twice/,
      );
    });
  });

  describe('redisHealth()', () => {
    it('should reject a misspelt option with the closest known name', () => {
      const client = createRedis('redis://127.0.0.1:1');
      try {
        expect(() => redisHealth(client, { timout: '1s' } as never)).to.throw(TypeError, misspelt('timout', 'timeout'));
      } finally {
        client.disconnect();
      }
    });
  });

  describe('prometheusMetrics()', () => {
    it('should reject a misspelt option with the closest known name', () => {
      expect(() => prometheusMetrics({ prefx: 'app_' } as never)).to.throw(TypeError, misspelt('prefx', 'prefix'));
    });
  });
});
