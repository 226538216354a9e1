// Lua (and memory twins) for the invalidation indexes: one sorted set per tag, path or route of entry keys, scored by expiry.
import { defineScript, type MemoryStore } from '../redis';

type IndexSet = Map<string, number>;

/**
 * KEYS[1] = index; ARGV[1] = entry key, ARGV[2] = the entry's lifetime in ms.
 * Adds the key scored by its expiry (server clock), drops members that already expired, and keeps the
 * index alive as long as its longest-lived member: indexes are bounded by the entries' TTLs.
 */
export const INDEX_ADD = defineScript<number>({
  name: 'rmwApiIndexAdd',
  lua: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return redis.call('ZCARD', KEYS[1])
`,
  memory(store: MemoryStore, keys: string[], args: string[], now: number): number {
    const indexKey = keys[0] as string;
    const ttl = Number(args[1]);
    const set = store.get<IndexSet>(indexKey) ?? new Map<string, number>();
    set.set(args[0] as string, now + ttl);
    for (const [member, expiresAt] of set) if (expiresAt <= now) set.delete(member);
    const remaining = store.pttl(indexKey);
    store.set(indexKey, set, Math.max(ttl, remaining));
    return set.size;
  },
});

/** KEYS[1] = index. Returns the live members and deletes the index (atomically: an invalidation takes it all). */
export const INDEX_TAKE = defineScript<string[]>({
  name: 'rmwApiIndexTake',
  lua: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local members = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
redis.call('DEL', KEYS[1])
return members
`,
  memory(store: MemoryStore, keys: string[], _args: string[], now: number): string[] {
    const indexKey = keys[0] as string;
    const set = store.get<IndexSet>(indexKey);
    store.delete(indexKey);
    if (!set) return [];
    return [...set].filter(([, expiresAt]) => expiresAt >= now).map(([member]) => member);
  },
});
