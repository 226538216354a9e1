import { expect } from 'chai';
import { type AiCacheOptions, aiCache, CachedFailureError } from '../lib/ai-cache';
import { onEvent } from '../lib/common/events';
import { type RedisClient, resolveBackend } from '../lib/redis';
import {
  captureEvents,
  deferred,
  storedEntry,
  tracked,
  uniqueModel,
  useSharedClient,
  waitingOnLock,
} from './fixtures/ai-cache-helpers';
import { sharedStandalone, waitFor } from './support';

type Input = { ingredients: string[]; requestId?: string };
type Options = { temperature?: number; system?: string };

describe('aiCache()', () => {
  const shared = useSharedClient();

  /** A cached stand-in model that counts its calls. */
  function chef(options: Partial<AiCacheOptions<[Input, Options?]>> = {}) {
    const calls: Array<[Input, Options | undefined]> = [];
    const model = uniqueModel();
    const suggest = aiCache(
      { redis: shared.client, model, ttl: '1m', ...options },
      async (input: Input, opts?: Options) => {
        calls.push([input, opts]);
        return { recipe: `${input.ingredients.join(' + ')} at ${opts?.temperature ?? 1}`, call: calls.length };
      },
    );
    return { suggest, calls, model };
  }

  describe('options', () => {
    const fn = async (input: string) => input;

    it('should throw a TypeError naming each invalid option', () => {
      const cases: Array<[object, RegExp]> = [
        [{}, /^model option must be a non-empty string or a function/],
        [{ model: '' }, /^model option must be a non-empty string/],
        [{ model: 'm', ttl: 'soon' }, /^ttl option must be a duration such as '90s'/],
        [{ model: 'm', key: ['id'] }, /^key option must be a function of the arguments .* \{ omit:/],
        [{ model: 'm', namespace: 42 }, /^namespace option must be a non-empty string or a function/],
        [{ model: 'm', version: {} }, /^version option must be a string or a number/],
        [{ model: 'm', shouldCache: true }, /^shouldCache option must be a function/],
        [{ model: 'm', compression: 'zstd' }, /^compression option must be one of 'brotli', 'gzip', 'none'/],
        [{ model: 'm', compressAbove: -1 }, /^compressAbove option must be a whole number of at least 0/],
        [{ model: 'm', maxSize: 0 }, /^maxSize option must be a whole number of at least 1/],
        [{ model: 'm', lockTtl: '10ms' }, /^lockTtl option must be a duration .*at least 100 ms/],
        [{ model: 'm', lockWait: 'forever' }, /^lockWait option must be a duration/],
        [{ model: 'm', negativeTtl: -5 }, /^negativeTtl option must be a duration/],
        [{ model: 'm', lock: 'yes' }, /^lock option must be true or false/],
        [{ model: 'm', redis: {} }, /^redis option must be an ioredis Redis or Cluster client/],
      ];
      for (const [options, message] of cases) {
        expect(() => aiCache(options as never, fn), JSON.stringify(options)).to.throw(TypeError, message);
      }
    });

    it('should throw a TypeError when the options or the function are missing', () => {
      expect(() => aiCache(undefined as never, fn)).to.throw(TypeError, /^aiCache\(\) takes one options object/);
      expect(() => aiCache({ model: 'm', redis: shared.client }, 'f' as never)).to.throw(
        TypeError,
        /^aiCache\(\) takes the function to cache as its second argument/,
      );
    });

    it('should throw a TypeError for invalid per-call controls and warm options', async () => {
      const { suggest } = chef();
      expect(() => suggest.with({ ttl: 'later' as never })).to.throw(TypeError, /^ttl option must be a duration/);
      expect(() => suggest.with({ refresh: 1 as never })).to.throw(TypeError, /^refresh option must be true or false/);
      expect(() => suggest.with({ namespace: '' })).to.throw(
        TypeError,
        /^namespace control must be a non-empty string/,
      );
      await suggest.warm([], { concurrency: 0 }).then(
        () => expect.fail('warm accepted concurrency 0'),
        (error: Error) => expect(error.message).to.match(/^concurrency option must be a whole number of at least 1/),
      );
    });
  });

  describe('on a miss and then a hit', () => {
    it('should run the inference once and answer the second call from Redis', async () => {
      const { suggest, calls } = chef();
      const capture = captureEvents();
      try {
        const first = await suggest({ ingredients: ['egg', 'rice'] });
        await storedEntry(shared.client, suggest.keyFor({ ingredients: ['egg', 'rice'] }));
        const second = await suggest({ ingredients: ['egg', 'rice'] });
        expect(second).to.deep.equal(first);
        expect(calls).to.have.length(1);
        expect(capture.events.map((e) => e.outcome)).to.deep.equal(['miss', 'store', 'hit']);
      } finally {
        capture.stop();
      }
    });

    it('should store under ai:<model>:<hash> with the ttl option', async () => {
      const { suggest, model } = chef({ ttl: '90s' });
      await suggest({ ingredients: ['egg'] });
      const key = suggest.keyFor({ ingredients: ['egg'] });
      expect(key).to.match(new RegExp(`^ai:${model}:[0-9a-f]{32}$`));
      await storedEntry(shared.client, key);
      const ttl = await shared.client.pttl(key);
      expect(ttl).to.be.within(80_000, 90_000);
    });

    it('should run the inference again once the entry expired', async () => {
      const { suggest, calls } = chef({ ttl: '200ms' });
      const key = suggest.keyFor({ ingredients: ['egg'] });
      await suggest({ ingredients: ['egg'] });
      await storedEntry(shared.client, key);
      await waitFor(async () => (await shared.client.exists(key)) === 0, { what: 'expiry' });
      await suggest({ ingredients: ['egg'] });
      expect(calls).to.have.length(2);
    });
  });

  describe('keys', () => {
    it('should not depend on the order of fields', () => {
      const { suggest } = chef();
      expect(suggest.keyFor({ ingredients: ['a'], requestId: 'r' }, { temperature: 0, system: 's' })).to.equal(
        suggest.keyFor({ requestId: 'r', ingredients: ['a'] }, { system: 's', temperature: 0 }),
      );
    });

    it('should separate models, inputs, answer-changing options and namespaces', () => {
      const a = chef();
      const b = chef();
      const input = { ingredients: ['a'] };
      const keys = [
        a.suggest.keyFor(input),
        b.suggest.keyFor(input),
        a.suggest.keyFor({ ingredients: ['b'] }),
        a.suggest.keyFor(input, { temperature: 0.2 }),
        a.suggest.keyFor(input, { temperature: 0.2, system: 'be brief' }),
      ];
      const tenant = chef({ namespace: (_input: unknown, opts?: unknown) => (opts as { tenant?: string })?.tenant });
      expect(new Set(keys).size).to.equal(keys.length);
      expect(tenant.suggest.keyFor(input, { tenant: 't1' } as Options)).to.not.equal(
        tenant.suggest.keyFor(input, { tenant: 't2' } as Options),
      );
    });

    it('should not let an omitted request id split the cache', async () => {
      const { suggest, calls } = chef({ key: { omit: ['requestId'] } });
      await suggest({ ingredients: ['egg'], requestId: 'r1' });
      await storedEntry(shared.client, suggest.keyFor({ ingredients: ['egg'], requestId: 'r1' }));
      await suggest({ ingredients: ['egg'], requestId: 'r2' });
      expect(calls).to.have.length(1);
      expect(suggest.keyFor({ ingredients: ['egg'], requestId: 'x' })).to.equal(
        suggest.keyFor({ ingredients: ['egg'] }),
      );
    });

    it('should hash only what a key function returns', () => {
      const { suggest } = chef({ key: (input: unknown) => (input as Input).ingredients });
      expect(suggest.keyFor({ ingredients: ['a'] }, { temperature: 1 })).to.equal(
        suggest.keyFor({ ingredients: ['a'], requestId: 'z' }, { temperature: 2 }),
      );
    });

    it('should take the model from a function of the input, encoded', () => {
      const suggest = aiCache(
        { redis: shared.client, model: (input: { model: string; q: string }) => input.model },
        async (input: { model: string; q: string }) => input.q,
      );
      expect(suggest.keyFor({ model: 'gpt-4o', q: 'x' })).to.match(/^ai:gpt-4o:[0-9a-f]{32}$/);
      expect(suggest.keyFor({ model: 'evil:{x}', q: 'x' })).to.match(/^ai:evil%3A%7Bx%7D:[0-9a-f]{32}$/);
      expect(() => suggest.keyFor({ model: '', q: 'x' })).to.throw(
        TypeError,
        /^model option function must return a non-empty string; returned ""/,
      );
    });

    it('should keep namespaces apart, also when given per call', async () => {
      const { suggest, calls } = chef({ namespace: 'tenant-a' });
      await suggest({ ingredients: ['egg'] });
      await storedEntry(shared.client, suggest.keyFor({ ingredients: ['egg'] }));
      await suggest.with({ namespace: 'tenant-b' })({ ingredients: ['egg'] });
      await suggest({ ingredients: ['egg'] });
      expect(calls).to.have.length(2);
    });
  });

  describe('concurrent identical calls', () => {
    it('should run the inference once for 100 concurrent calls', async () => {
      const gate = deferred();
      let inferences = 0;
      const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async (input: Input) => {
        inferences++;
        await gate.promise;
        return { recipe: input.ingredients.join('+') };
      });
      const all = Promise.all(Array.from({ length: 100 }, () => suggest({ ingredients: ['egg'] })));
      await waitFor(() => inferences > 0, { what: 'the inference to start' });
      gate.resolve();
      const results = await all;
      expect(inferences).to.equal(1);
      expect(new Set(results.map((r) => r.recipe))).to.deep.equal(new Set(['egg']));
    });

    it('should share one inference between two instances on different connections (the Redis lock)', async () => {
      const model = uniqueModel();
      const other = (await sharedStandalone()).client();
      const gate = deferred();
      let inferences = 0;
      const make = (redis: RedisClient) =>
        aiCache({ redis, model, lockTtl: '2s' }, async (input: Input) => {
          inferences++;
          await gate.promise;
          return input.ingredients.join('+');
        });
      const [a, b] = [make(shared.client), make(other)];
      const first = a({ ingredients: ['egg'] });
      await waitFor(() => inferences > 0, { what: 'the first inference' });
      const second = tracked(b({ ingredients: ['egg'] }));
      // B found A's lock and waits on it: only A's release (not a cache hit) can answer it.
      await waitingOnLock(other, b.keyFor({ ingredients: ['egg'] }));
      expect(second.settled()).to.equal(false);
      gate.resolve();
      expect(await Promise.all([first, second.promise])).to.deep.equal(['egg', 'egg']);
      expect(inferences).to.equal(1);
      await resolveBackend({ redis: other }).close();
    });
  });

  describe('releasing the lock', () => {
    it('should delete the lock and announce it on ai:released in one round trip', async () => {
      const listener = (await sharedStandalone()).client();
      const announced: string[] = [];
      const operations: string[] = [];
      const stop = onEvent((event) => {
        if (event.kind === 'redis') operations.push(event.operation);
      });
      try {
        await listener.subscribe('ai:released');
        listener.on('message', (_channel: string, message: string) => announced.push(message));
        const { suggest } = chef();
        const key = suggest.keyFor({ ingredients: ['egg'] });
        await suggest({ ingredients: ['egg'] });
        await waitFor(() => announced.includes(key), { what: 'the release announcement' });
        expect(await shared.client.exists(`${key}:lock`)).to.equal(0);
        expect(operations.filter((op) => op === 'rmwDeleteIfHolds')).to.have.length(1);
        expect(operations, 'no separate PUBLISH').to.not.include('PUBLISH');
      } finally {
        stop();
        listener.disconnect();
      }
    });
  });

  describe('releasing the lock without Redis (memory backend)', () => {
    it('should announce the release to the subscribers in this process', async () => {
      const announced: string[] = [];
      const unsubscribe = await resolveBackend({}).subscribe('ai:released', (message) => announced.push(message));
      try {
        const suggest = aiCache({ model: uniqueModel() }, async (q: string) => `answer ${q}`);
        await suggest('q');
        await waitFor(() => announced.includes(suggest.keyFor('q')), { what: 'the release announcement' });
      } finally {
        await unsubscribe();
      }
    });
  });

  describe('errors', () => {
    it('should not cache a failure: the next call runs again', async () => {
      let inferences = 0;
      const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async (_input: string) => {
        inferences++;
        throw new Error(`model overloaded ${inferences}`);
      });
      await expectRejection(suggest('q'), /model overloaded 1/);
      await expectRejection(suggest('q'), /model overloaded 2/);
      expect(await shared.client.exists(suggest.keyFor('q'))).to.equal(0);
    });

    it('should give concurrent callers the same failure', async () => {
      let inferences = 0;
      const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async (_input: string) => {
        inferences++;
        throw new Error('boom');
      });
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => suggest('q')));
      expect(results.every((r) => r.status === 'rejected')).to.equal(true);
      expect(inferences).to.equal(1);
    });

    it('should not store a result shouldCache rejects', async () => {
      const capture = captureEvents();
      let inferences = 0;
      const suggest = aiCache(
        { redis: shared.client, model: uniqueModel(), shouldCache: (result: { ok: boolean }) => result.ok },
        async (_input: string) => ({ ok: ++inferences > 1 }),
      );
      try {
        expect(await suggest('q')).to.deep.equal({ ok: false });
        await waitFor(() => capture.events.some((e) => e.outcome === 'skip' && e.reason === 'should-cache'), {
          what: 'the skip',
        });
        expect(await suggest('q')).to.deep.equal({ ok: true });
        await storedEntry(shared.client, suggest.keyFor('q'));
        expect(await suggest('q')).to.deep.equal({ ok: true });
        expect(inferences).to.equal(2);
      } finally {
        capture.stop();
      }
    });

    it('should remember a failure for negativeTtl and answer with CachedFailureError', async () => {
      let inferences = 0;
      const suggest = aiCache(
        { redis: shared.client, model: uniqueModel(), negativeTtl: '1m' },
        async (_input: string): Promise<string> => {
          inferences++;
          throw Object.assign(new Error('rate limited by the provider'), { code: 'rate_limit' });
        },
      );
      await expectRejection(suggest('q'), /rate limited/);
      await storedEntry(shared.client, suggest.keyFor('q'));
      const error = await suggest('q').then(
        () => expect.fail('resolved'),
        (e: unknown) => e as CachedFailureError,
      );
      expect(error).to.be.instanceOf(CachedFailureError);
      expect(error.code).to.equal('E_AI_CACHE_CACHED_FAILURE');
      expect(error.originalCode).to.equal('rate_limit');
      expect(error.message).to.match(/^rate limited by the provider \(cached failure/);
      expect(inferences).to.equal(1);
    });
  });

  describe('per-call controls', () => {
    it('should bypass the cache entirely', async () => {
      const { suggest, calls } = chef();
      await suggest.with({ bypass: true })({ ingredients: ['egg'] });
      await suggest.with({ bypass: true })({ ingredients: ['egg'] });
      expect(calls).to.have.length(2);
      expect(await shared.client.exists(suggest.keyFor({ ingredients: ['egg'] }))).to.equal(0);
    });

    it('should refresh: run again and store the new result', async () => {
      const { suggest, calls } = chef();
      const key = suggest.keyFor({ ingredients: ['egg'] });
      await suggest({ ingredients: ['egg'] });
      await storedEntry(shared.client, key);
      const fresh = await suggest.with({ refresh: true })({ ingredients: ['egg'] });
      expect(fresh.call).to.equal(2);
      await waitFor(async () => (await suggest({ ingredients: ['egg'] })).call === 2, { what: 'the new entry' });
      expect(calls).to.have.length(2);
    });

    it('should store with a ttl given per call', async () => {
      const { suggest } = chef({ ttl: '1h' });
      await suggest.with({ ttl: '30s' })({ ingredients: ['egg'] });
      const key = suggest.keyFor({ ingredients: ['egg'] });
      await storedEntry(shared.client, key);
      expect(await shared.client.pttl(key)).to.be.within(1, 30_000);
    });

    it('should invalidate one entry', async () => {
      const { suggest, calls } = chef();
      await suggest({ ingredients: ['egg'] });
      await storedEntry(shared.client, suggest.keyFor({ ingredients: ['egg'] }));
      expect(await suggest.invalidate({ ingredients: ['egg'] })).to.equal(true);
      await suggest({ ingredients: ['egg'] });
      expect(calls).to.have.length(2);
    });
  });

  describe('warm()', () => {
    it('should precompute entries with bounded concurrency, then find them cached', async () => {
      let running = 0;
      let most = 0;
      const suggest = aiCache({ redis: shared.client, model: uniqueModel() }, async (dish: string) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        if (dish === 'bad') throw new Error('no such dish');
        return `recipe for ${dish}`;
      });
      const dishes: Array<[string]> = [['soup'], ['salad'], ['stew'], ['pie'], ['bad']];
      const report = await suggest.warm(dishes, { concurrency: 2 });
      expect(report).to.include({ computed: 4, cached: 0, failed: 1 });
      expect(report.errors[0]?.message).to.equal('no such dish');
      expect(most).to.equal(2);
      await storedEntry(shared.client, suggest.keyFor('pie'));
      for (const dish of ['soup', 'salad', 'stew']) await storedEntry(shared.client, suggest.keyFor(dish));
      const again = await suggest.warm(dishes.slice(0, 4));
      expect(again).to.include({ computed: 0, cached: 4, failed: 0 });
    });
  });

  describe('without a Redis client', () => {
    it('should cache in process memory', async () => {
      let inferences = 0;
      const suggest = aiCache({ model: uniqueModel() }, async (q: string) => `${q}:${++inferences}`);
      expect(await suggest('q')).to.equal('q:1');
      await waitFor(async () => (await suggest('q')) === 'q:1' && inferences === 1, { what: 'a memory hit' });
    });
  });
});

async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await promise.then(
    () => expect.fail('resolved'),
    (error: Error) => expect(error.message).to.match(message),
  );
}
