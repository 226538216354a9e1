// The Redis foundation: client factory, key builder, hashing, backends and scripts.
export type { Backend } from './backend';
export { canonicalJson, HASH_LENGTH, hashCanonical, sha256Hex } from './canonical';
export { type Concern, concerns, connectionStates, registerClient, watchConnection } from './connections';
export {
  type CreateRedisOptions,
  createRedis,
  createRedisDefaults,
  type HostPort,
  type RedisClient,
  type RedisClusterTarget,
  type RedisSentinelTarget,
  type RedisTarget,
  type RedisUrlTarget,
  redisTargetDefaults,
} from './create-redis';
export { withDeadline } from './deadline';
export { ClientHealth, healthOf, isUnavailability } from './health';
export * from './keys';
export { type Announcement, deleteIfHolds, Lock, type LockOptions } from './lock';
export { MemoryBackend, sharedMemoryBackend } from './memory-backend';
export { MemoryStore, type MemoryStoreOptions } from './memory-store';
export { Outbox, type OutboxOptions } from './outbox';
export { RedisBackend, redisBackendFor } from './redis-backend';
export { type RedisHealth, type RedisHealthOptions, redisHealth, redisHealthDefaults } from './redis-health';
export {
  assertRedisClient,
  DEFAULT_REDIS_TIMEOUT_MS,
  type RedisConnectionOptions,
  redisConnectionDefaults,
  resolveBackend,
} from './resolve';
export { defineScript, type ScriptDefinition, type ScriptReply } from './script';
