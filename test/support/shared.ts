// Topologies shared by every suite that only reads and writes (suites that break nodes start their own).
import { RedisCluster, SentinelGroup, Standalone, type Topology } from './topologies';

const started = new Map<string, Promise<Topology>>();

function shared<T extends Topology>(name: string, start: () => Promise<T>): Promise<T> {
  let topology = started.get(name);
  if (!topology) {
    topology = start();
    started.set(name, topology);
  }
  return topology as Promise<T>;
}

/** One standalone Redis for the whole run. */
export const sharedStandalone = (): Promise<Standalone> => shared('standalone', () => Standalone.start());
/** One Sentinel group for the whole run; do not kill its nodes. */
export const sharedSentinel = (): Promise<SentinelGroup> => shared('sentinel', () => SentinelGroup.start());
/** One Cluster for the whole run; do not kill its nodes. */
export const sharedCluster = (): Promise<RedisCluster> => shared('cluster', () => RedisCluster.start());

/** Stops every shared topology (mocha's root afterAll). */
export async function stopSharedTopologies(): Promise<void> {
  const all = [...started.values()];
  started.clear();
  await Promise.all(all.map(async (topology) => (await topology.catch(() => undefined))?.stop()));
}
