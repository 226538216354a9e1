// The whole stack under load on Redis Sentinel: primary killed, primary frozen, manual failover, old primary back.
import { expect } from 'chai';
import { type RedisNode, SENTINEL_NAME, SentinelGroup, waitFor } from '../support';
import { logReport, runScenario } from './scenario';

describe('the stack on Redis Sentinel, under load', function () {
  this.timeout(180_000);
  let group: SentinelGroup;
  /** A node killed by a test, restarted by a later one (the old primary that returns). */
  let killed: RedisNode | undefined;

  before(async () => {
    group = await SentinelGroup.start();
  });
  after(async () => {
    for (const node of group.nodes) node.resume();
    await group.stop();
  });

  /** Resolves with the new primary once the sentinels name one other than `old` and it acts as primary. */
  async function newPrimaryThan(old: RedisNode): Promise<RedisNode> {
    return waitFor(
      async () => {
        const primary = await group.primary();
        if (primary === old) return undefined;
        return (await primary.info('replication')).role === 'master' ? primary : undefined;
      },
      { what: 'the sentinels to promote a replica', timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  describe('when the primary is killed', () => {
    it('should fail over, answer every request in time with documented statuses, and lose nothing', async () => {
      const report = await runScenario({
        redis: group.client(),
        expectDuring: { 'GET /me': 503 },
        fault: async () => {
          const old = await group.primary();
          await old.kill();
          killed = old;
          await newPrimaryThan(old);
          return undefined;
        },
      });
      logReport('sentinel primary killed', report);
    });
  });

  describe('when the old primary returns', () => {
    it('should rejoin as a replica while traffic flows, without losing anything', async function () {
      if (!killed) this.skip();
      const old = killed as RedisNode;
      const report = await runScenario({
        redis: group.client(),
        fault: async () => {
          await old.restart();
          killed = undefined;
          await waitFor(
            async () => {
              const info = await old.info('replication');
              return info.role === 'slave' && info.master_link_status === 'up';
            },
            { what: 'the old primary to replicate from the new one', timeoutMs: 30_000, intervalMs: 100 },
          );
          await group.waitUntilSettled();
          return undefined;
        },
      });
      expect(await group.primary()).not.to.equal(old);
      logReport('old primary back as replica', report);
    });
  });

  describe('when the primary is frozen (SIGSTOP)', () => {
    it('should fail over, answer every request in time with documented statuses, and lose nothing', async () => {
      const report = await runScenario({
        redis: group.client(),
        expectDuring: { 'GET /me': 503 },
        fault: async () => {
          const old = await group.primary();
          old.freeze();
          await newPrimaryThan(old);
          // Recovery is measured from the promotion; then the old primary wakes up and must be demoted.
          return async () => {
            old.resume();
            await group.waitUntilSettled();
            expect((await old.info('replication')).role).to.equal('slave');
          };
        },
      });
      logReport('sentinel primary frozen', report);
    });
  });

  describe('when a failover is requested (SENTINEL FAILOVER)', () => {
    it('should follow the new primary and answer every request in time with documented statuses', async () => {
      const report = await runScenario({
        redis: group.client(),
        fault: async () => {
          const old = await group.primary();
          const sentinel = group.sentinels[0] as RedisNode;
          await waitFor(async () => (await sentinel.command('SENTINEL', 'FAILOVER', SENTINEL_NAME)) === 'OK', {
            what: 'a sentinel to accept the failover',
            timeoutMs: 20_000,
            intervalMs: 200,
          });
          await newPrimaryThan(old);
          await group.waitUntilSettled();
          return undefined;
        },
      });
      logReport('manual failover', report);
    });
  });
});
