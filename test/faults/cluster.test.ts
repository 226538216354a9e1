// The whole stack under load on Redis Cluster: primary killed, a slot migrated (MOVED/ASK), a whole shard down.

import { expect } from 'chai';
import calculateSlot from 'cluster-key-slot';
import { dbKey } from '../../lib/redis';
import { tagIndexKey } from '../../lib/response-cache/hub';
import { RedisCluster, type RedisNode, waitFor } from '../support';
import { logReport, type Phase, runScenario } from './scenario';

/** The harness's cluster-node-timeout. */
const NODE_TIMEOUT_MS = 2000;

describe('the stack on Redis Cluster, under load', function () {
  this.timeout(180_000);
  let cluster: RedisCluster;

  before(async () => {
    cluster = await RedisCluster.start({ nodeTimeoutMs: NODE_TIMEOUT_MS });
    await replicasInSync();
  });
  after(async () => {
    for (const node of cluster.nodes) node.resume();
    await cluster.stop();
  });

  /**
   * Resolves once every running replica has synced with its primary: a replica that never synced cannot be
   * promoted (the harness's waitUntilHealthy() checks slots, not replication; the first sync takes ~5 s).
   */
  async function replicasInSync(): Promise<void> {
    await waitFor(
      async () => {
        for (const node of cluster.nodes.filter((n) => n.isRunning)) {
          const info = await node.info('replication');
          if (info.role === 'slave' && (info.master_link_status !== 'up' || info.master_sync_in_progress !== '0'))
            return false;
        }
        return true;
      },
      { what: 'every replica to sync with its primary', timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  const idOf = async (node: RedisNode): Promise<string> => String(await node.command('CLUSTER', 'MYID'));

  /** The primary serving a slot, as the running nodes see it. */
  async function ownerOf(slot: number): Promise<RedisNode> {
    const primaries = await cluster.primaries();
    for (const node of primaries) {
      const ranges = (await node.command('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      const range = ranges.find(([start, end]) => slot >= start && slot <= end);
      const owner = range && primaries.find((n) => n.port === Number(range[2][1]));
      if (owner) return owner;
    }
    throw new Error(`no primary serves slot ${slot}`);
  }

  /** The replica of a primary. */
  async function replicaOf(primary: RedisNode): Promise<RedisNode> {
    for (const node of cluster.nodes.filter((n) => n.isRunning && n !== primary)) {
      const info = await node.info('replication');
      if (info.role === 'slave' && Number(info.master_port) === primary.port) return node;
    }
    throw new Error(`no replica of ${primary.address}`);
  }

  /** Moves a slot to another primary key by key, letting traffic run between keys (ASK), then hands it over (MOVED). */
  async function migrateSlot(slot: number, { answered }: Phase): Promise<number> {
    const source = await ownerOf(slot);
    const target = (await cluster.primaries()).find((n) => n !== source) as RedisNode;
    const [sourceId, targetId] = [await idOf(source), await idOf(target)];
    await target.command('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
    await source.command('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
    let moved = 0;
    for (let round = 0; round < 500; round++) {
      const keys = (await source.command('CLUSTER', 'GETKEYSINSLOT', slot, 1)) as string[];
      if (keys.length === 0) break;
      await source.command('MIGRATE', target.host, target.port, '', 0, 5000, 'KEYS', ...keys);
      moved += keys.length;
      await answered(3);
    }
    for (const node of [target, source, ...(await cluster.primaries())]) {
      await node.command('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
    }
    expect(await ownerOf(slot)).to.equal(target);
    return moved;
  }

  describe('when a primary is killed', () => {
    it('should follow the promoted replica and answer every request in time with documented statuses', async () => {
      const report = await runScenario({
        redis: cluster.client(),
        fault: async ({ answered }) => {
          const victim = (await cluster.primaries())[0] as RedisNode;
          await victim.kill();
          await answered(40);
          await cluster.waitUntilHealthy();
          // Measured from the promotion; then the old primary returns as a replica.
          return async () => {
            await victim.restart();
            await cluster.waitUntilHealthy();
            await replicasInSync();
            expect((await victim.info('replication')).role).to.equal('slave');
          };
        },
      });
      logReport('cluster primary killed', report);
    });
  });

  describe('when slots are migrated while traffic flows (ASK, then MOVED)', () => {
    it('should follow the redirections and answer every request in time with documented statuses', async () => {
      let moved = 0;
      const report = await runScenario({
        redis: cluster.client(),
        fault: async (phase) => {
          // The slot of every cached recipe query, and the slot of the recipes tag index of the response cache.
          moved += await migrateSlot(calculateSlot(dbKey('recipes', 'x')), phase);
          moved += await migrateSlot(calculateSlot(tagIndexKey('recipes')), phase);
          return undefined;
        },
      });
      expect(moved, 'keys migrated').to.be.above(0);
      logReport(`slots migrated (${moved} keys)`, report);
    });
  });

  describe('when a primary and its replica are both down (CLUSTERDOWN) and come back', () => {
    it('should answer every request in time with documented statuses and recover within node timeout + a few seconds', async () => {
      const report = await runScenario({
        redis: cluster.client(),
        expectDuring: { 'GET /me': 503 },
        fault: async ({ answered }) => {
          const primary = (await cluster.primaries())[1] as RedisNode;
          const replica = await replicaOf(primary);
          const witness = cluster.nodes.find((n) => n !== primary && n !== replica) as RedisNode;
          // Replica first, so nothing can be promoted; the frozen primary keeps its data.
          await replica.kill();
          primary.freeze();
          await waitFor(async () => String(await witness.command('CLUSTER', 'INFO')).includes('cluster_state:fail'), {
            what: 'the cluster to report cluster_state:fail',
            timeoutMs: 30_000,
            intervalMs: 100,
          });
          await answered(80);
          primary.resume();
          await replica.restart();
          await cluster.waitUntilHealthy();
          await replicasInSync();
          return undefined;
        },
      });
      logReport('cluster down and back', report);
    });
  });
});
