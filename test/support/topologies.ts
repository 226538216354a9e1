// Standalone, Sentinel and Cluster topologies of real Redis processes, and clients under test on them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { CreateRedisOptions, RedisClient } from '../../lib/redis';
import { createRedis } from '../../lib/redis';
import { redisBinaries } from './binaries';
import { waitFor } from './poll';
import { RedisNode } from './redis-node';

const run = promisify(execFile);

/** What every topology offers a test. */
export interface Topology {
  readonly kind: 'standalone' | 'sentinel' | 'cluster';
  /** Every redis-server process (sentinels excluded). */
  readonly nodes: RedisNode[];
  /** A client under test, made by `createRedis` exactly as an application would; closed at `stop()`. */
  client(options?: CreateRedisOptions): RedisClient;
  /** Deletes every key on every primary. */
  flush(): Promise<void>;
  /** Stops every process and every client it made. */
  stop(): Promise<void>;
}

abstract class BaseTopology {
  private readonly clients = new Set<RedisClient>();

  protected track(client: RedisClient): RedisClient {
    client.on('error', () => undefined);
    this.clients.add(client);
    return client;
  }

  protected closeClients(): void {
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
  }
}

export class Standalone extends BaseTopology implements Topology {
  readonly kind = 'standalone' as const;

  private constructor(readonly node: RedisNode) {
    super();
  }

  static async start(config: string[] = []): Promise<Standalone> {
    return new Standalone(await RedisNode.start({ config }));
  }

  get nodes(): RedisNode[] {
    return [this.node];
  }

  get url(): string {
    return this.node.url;
  }

  client(options?: CreateRedisOptions): RedisClient {
    return this.track(createRedis(this.url, options));
  }

  async flush(): Promise<void> {
    await this.node.command('FLUSHALL');
  }

  async stop(): Promise<void> {
    this.closeClients();
    await this.node.stop();
  }
}

/** The Sentinel group's primary name. */
export const SENTINEL_NAME = 'rmw-primary';

export class SentinelGroup extends BaseTopology implements Topology {
  readonly kind = 'sentinel' as const;

  private constructor(
    readonly nodes: RedisNode[],
    readonly sentinels: RedisNode[],
  ) {
    super();
  }

  /** 1 primary, `replicas` replicas and 3 sentinels; ready when every sentinel sees the others and every replica. */
  static async start({ replicas = 2 }: { replicas?: number } = {}): Promise<SentinelGroup> {
    const primary = await RedisNode.start();
    const replicaNodes = await Promise.all(
      Array.from({ length: replicas }, () =>
        RedisNode.start({ config: [`replicaof ${primary.host} ${primary.port}`, 'replica-serve-stale-data yes'] }),
      ),
    );
    const sentinels = await Promise.all(
      Array.from({ length: 3 }, () =>
        RedisNode.start({
          sentinel: true,
          config: [
            `sentinel monitor ${SENTINEL_NAME} ${primary.host} ${primary.port} 2`,
            `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
            `sentinel failover-timeout ${SENTINEL_NAME} 3000`,
            `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
          ],
        }),
      ),
    );
    const group = new SentinelGroup([primary, ...replicaNodes], sentinels);
    await group.waitUntilSettled();
    return group;
  }

  get sentinelAddresses(): Array<{ host: string; port: number }> {
    return this.sentinels.map((s) => ({ host: s.host, port: s.port }));
  }

  client(options?: CreateRedisOptions): RedisClient {
    return this.track(createRedis({ sentinels: this.sentinelAddresses, name: SENTINEL_NAME }, options));
  }

  /** The node the sentinels currently name as primary. */
  async primary(): Promise<RedisNode> {
    for (const sentinel of this.sentinels) {
      if (!sentinel.isRunning) continue;
      try {
        const [, port] = (await sentinel.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME)) as string[];
        const node = this.nodes.find((n) => n.port === Number(port));
        if (node) return node;
      } catch {
        // ask the next sentinel
      }
    }
    throw new Error('no sentinel names a primary');
  }

  /** Resolves once every sentinel agrees on a primary that reports itself as master, and sees every other node. */
  async waitUntilSettled(timeoutMs = 30_000): Promise<RedisNode> {
    const running = () => this.nodes.filter((n) => n.isRunning);
    return waitFor(
      async () => {
        const primary = await this.primary();
        if ((await primary.info('replication')).role !== 'master') return undefined;
        for (const sentinel of this.sentinels) {
          const [, port] = (await sentinel.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME)) as string[];
          if (Number(port) !== primary.port) return undefined;
          const others = (await sentinel.command('SENTINEL', 'SENTINELS', SENTINEL_NAME)) as unknown[];
          if (others.length !== this.sentinels.length - 1) return undefined;
          const replicas = (await sentinel.command('SENTINEL', 'REPLICAS', SENTINEL_NAME)) as string[][];
          const healthy = replicas.filter((fields) => {
            const flags = fields[fields.indexOf('flags') + 1] ?? '';
            const link = fields[fields.indexOf('master-link-status') + 1];
            return !/s_down|o_down|disconnected/.test(flags) && link === 'ok';
          });
          if (healthy.length !== running().length - 1) return undefined;
        }
        return primary;
      },
      { what: 'the Sentinel group to settle', timeoutMs, intervalMs: 100 },
    );
  }

  async flush(): Promise<void> {
    await (await this.primary()).command('FLUSHALL');
  }

  async stop(): Promise<void> {
    this.closeClients();
    await Promise.all([...this.sentinels, ...this.nodes].map((n) => n.stop()));
  }
}

export class RedisCluster extends BaseTopology implements Topology {
  readonly kind = 'cluster' as const;

  private constructor(readonly nodes: RedisNode[]) {
    super();
  }

  /** 3 primaries and 3 replicas via `redis-cli --cluster create`; ready on cluster_state:ok from every node. */
  static async start({ nodeTimeoutMs = 2000 }: { nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
    const nodes = await Promise.all(
      Array.from({ length: 6 }, () =>
        RedisNode.start({
          config: [
            'cluster-enabled yes',
            'cluster-config-file nodes.conf',
            `cluster-node-timeout ${nodeTimeoutMs}`,
            'cluster-require-full-coverage yes',
            'cluster-allow-reads-when-down no',
          ],
        }),
      ),
    );
    await run(redisBinaries().cli, [
      '--cluster',
      'create',
      ...nodes.map((n) => n.address),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    const cluster = new RedisCluster(nodes);
    await cluster.waitUntilHealthy();
    return cluster;
  }

  get startupNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  client(options?: CreateRedisOptions): RedisClient {
    return this.track(createRedis({ cluster: this.startupNodes }, options));
  }

  /** Nodes that currently report themselves as primaries. */
  async primaries(): Promise<RedisNode[]> {
    const roles = await Promise.all(
      this.nodes.map(async (n) => (n.isRunning ? (await n.info('replication')).role : 'down')),
    );
    return this.nodes.filter((_, i) => roles[i] === 'master');
  }

  /** Resolves when every running node reports cluster_state:ok with all slots assigned and every replica is in sync. */
  async waitUntilHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.nodes.filter((n) => n.isRunning)) {
          const info = String(await node.command('CLUSTER', 'INFO'));
          if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return false;
        }
        if ((await this.primaries()).length !== 3) return false;
        // A replica that has not finished its first sync cannot be promoted: fault tests need it ready.
        for (const node of this.nodes.filter((n) => n.isRunning)) {
          const replication = await node.info('replication');
          if (replication.role === 'slave' && replication.master_link_status !== 'up') return false;
        }
        return true;
      },
      { what: 'the Cluster to report cluster_state:ok with every replica in sync', timeoutMs, intervalMs: 100 },
    );
  }

  async flush(): Promise<void> {
    await Promise.all((await this.primaries()).map((n) => n.command('FLUSHALL')));
  }

  async stop(): Promise<void> {
    this.closeClients();
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
