import { expect } from 'chai';
import calculateSlot from 'cluster-key-slot';
import { RedisCluster, SentinelGroup, Standalone, waitFor } from './support';

describe('test harness', () => {
  describe('standalone', () => {
    let redis: Standalone;
    before(async () => {
      redis = await Standalone.start();
    });
    after(() => redis.stop());

    it('should start redis-server without persistence on a free loopback port', async () => {
      const client = redis.client();
      await client.set('k', 'v');
      expect(await client.get('k')).to.equal('v');
      expect(await redis.node.command('CONFIG', 'GET', 'save')).to.deep.equal(['save', '']);
      expect(await redis.node.command('CONFIG', 'GET', 'appendonly')).to.deep.equal(['appendonly', 'no']);
    });

    it('should freeze and resume a node', async () => {
      const client = redis.client({ commandTimeout: 200 });
      await client.ping();
      redis.node.freeze();
      try {
        await client.ping().then(
          () => expect.fail('a frozen Redis answered'),
          (error: Error) => expect(error.message).to.match(/timed out/i),
        );
      } finally {
        redis.node.resume();
      }
      await waitFor(async () => (await client.ping()) === 'PONG', { what: 'PING after SIGCONT' });
    });

    it('should kill and restart a node on the same port', async () => {
      const port = redis.node.port;
      await redis.node.kill();
      expect(redis.node.isRunning).to.equal(false);
      await redis.node.restart();
      expect(redis.node.port).to.equal(port);
      expect(await redis.node.command('PING')).to.equal('PONG');
    });
  });

  describe('Sentinel', function () {
    this.timeout(90_000);
    let group: SentinelGroup;
    before(async () => {
      group = await SentinelGroup.start();
    });
    after(() => group.stop());

    it('should run 1 primary, 2 replicas and 3 sentinels that all see each other', async () => {
      const primary = await group.primary();
      expect((await primary.info('replication')).connected_slaves).to.equal('2');
      expect(group.sentinels).to.have.length(3);
      for (const sentinel of group.sentinels) {
        const replicas = (await sentinel.command('SENTINEL', 'REPLICAS', 'rmw-primary')) as unknown[];
        expect(replicas).to.have.length(2);
      }
    });

    it('should fail over when the primary is killed, and a client keeps writing through the new one', async () => {
      const client = group.client();
      await client.set('before', '1');
      const oldPrimary = await group.primary();
      await waitFor(async () => (await client.wait(2, 1000)) >= 2, { what: 'replication of the first write' });
      await oldPrimary.kill();

      let written = 0;
      const newPrimary = await waitFor(
        async () => {
          await client.set(`during:${written}`, '1').then(
            () => written++,
            () => undefined,
          );
          const primary = await group.primary();
          return primary !== oldPrimary ? primary : undefined;
        },
        { what: 'the sentinels to promote a replica', timeoutMs: 30_000 },
      );
      await waitFor(async () => (await client.set('after', '1')) === 'OK', { what: 'a write through the new primary' });
      expect(await client.get('before')).to.equal('1');
      expect((await newPrimary.info('replication')).role).to.equal('master');
      expect(await newPrimary.command('GET', 'after')).to.equal('1');

      await oldPrimary.restart();
      await group.waitUntilSettled();
      expect((await oldPrimary.info('replication')).role).to.equal('slave');
    });
  });

  describe('Cluster', function () {
    this.timeout(90_000);
    let cluster: RedisCluster;
    before(async () => {
      cluster = await RedisCluster.start();
    });
    after(() => cluster.stop());

    it('should run 3 primaries and 3 replicas with every slot assigned', async () => {
      expect(await cluster.primaries()).to.have.length(3);
      for (const node of cluster.nodes) {
        expect(String(await node.command('CLUSTER', 'INFO'))).to.include('cluster_state:ok');
      }
    });

    it('should write and read a key in every one of the 16384 slots', async () => {
      const keyForSlot = new Map<number, string>();
      for (let i = 0; keyForSlot.size < 16_384; i++) {
        const key = `slot-test:{${i}}`;
        const slot = calculateSlot(key);
        if (!keyForSlot.has(slot)) keyForSlot.set(slot, key);
      }
      const client = cluster.client();
      const keys = [...keyForSlot.values()];
      await Promise.all(keys.map((key) => client.set(key, key)));
      const values = await Promise.all(keys.map((key) => client.get(key)));
      expect(values).to.deep.equal(keys);
      const counts = await Promise.all((await cluster.primaries()).map((n) => n.command('DBSIZE')));
      expect(counts.reduce((a, b) => Number(a) + Number(b), 0)).to.equal(16_384);
      for (const count of counts) expect(Number(count)).to.be.greaterThan(5000);
    });
  });
});
