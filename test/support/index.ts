// The test harness: real Redis topologies, readiness polling, and helpers shared by the suites.
export { redisBinaries } from './binaries';
export { waitFor } from './poll';
export { RedisNode } from './redis-node';
export { sharedCluster, sharedSentinel, sharedStandalone } from './shared';
export { RedisCluster, SENTINEL_NAME, SentinelGroup, Standalone, type Topology } from './topologies';
