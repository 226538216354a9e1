import { expect } from 'chai';
import type { RateLimiterMemory } from 'rate-limiter-flexible';
import { InsuranceLimiter, MAX_INSURANCE_KEYS } from '../lib/rate-limit/insurance';
import type { WindowConfig } from '../lib/rate-limit/options';

function window(label: string, windowMs: number, limit: number): WindowConfig {
  return { label, keySuffix: label, windowMs, limit, bucketMs: windowMs / 60, bucketCount: 60 };
}

/** Entries held by each of the insurance limiter's RateLimiterMemory instances (test only: reads internals). */
function entries(insurance: InsuranceLimiter): number[] {
  const limiters = (insurance as unknown as { limiters: RateLimiterMemory[] }).limiters;
  return limiters.map(
    (limiter) =>
      (limiter as unknown as { _memoryStorage: { _storage: Map<string, unknown> } })._memoryStorage._storage.size,
  );
}

describe('rateLimit() insurance limiter', () => {
  const windows = [window('1m', 60_000, 5), window('1h', 3_600_000, 50), window('1d', 86_400_000, 500)];

  describe('during an outage with many distinct subjects', () => {
    it(`should keep at most ${MAX_INSURANCE_KEYS} keys per window by default`, async () => {
      const insurance = new InsuranceLimiter(windows);
      for (let i = 0; i < MAX_INSURANCE_KEYS * 2.5; i++) await insurance.consume(`rate:{ip10.${i}|all}:1m`, 1);
      for (const size of entries(insurance)) expect(size).to.be.at.most(MAX_INSURANCE_KEYS);
    });

    it('should keep at most maxKeys keys, forgetting the least recently seen first', async () => {
      const insurance = new InsuranceLimiter(windows, 100);
      // A hot subject keeps coming between 1000 one-off subjects: it stays remembered and limited.
      let hotPassed = 0;
      for (let i = 0; i < 1000; i++) {
        await insurance.consume(`cold-${i}`, 1);
        if (i % 50 === 0 && (await insurance.consume('hot', 1)).allowed) hotPassed++;
      }
      expect(hotPassed).to.equal(5);
      for (const size of entries(insurance)) expect(size).to.be.at.most(100);
      // A forgotten subject starts again from zero (documented: the cap trades precision for bounded memory).
      expect((await insurance.consume('cold-0', 1)).counts[0]).to.equal(1);
    });

    it('should forget a key everywhere on delete()', async () => {
      const insurance = new InsuranceLimiter(windows, 100);
      await insurance.consume('a', 1);
      await insurance.delete('a');
      expect(entries(insurance)).to.deep.equal([0, 0, 0]);
    });
  });
});
