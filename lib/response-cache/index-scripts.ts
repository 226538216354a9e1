// Lua (and memory twins) for the invalidation indexes and generations, and for committing a stored entry.
import { defineScript, type MemoryStore } from '../redis';

type IndexSet = Map<string, number>;

const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

/**
 * KEYS[1] = a generation; ARGV[1] = a token never offered before, ARGV[2] = the generation's lifetime
 * in ms, ARGV[3] = the least lifetime a fill needs. Replies the generation, creating it with ARGV[1]
 * when absent (never used, expired, evicted, lost in a failover), atomically. So a fill always starts
 * under a real token, and a generation that disappears later reads as "changed" at the fill's index
 * add and commit, never as the "none" the fill started under: an evicted or expired generation cannot
 * make an older fill look current. A generation that would expire before a fill could end is
 * extended (its token unchanged: that never makes an older fill look current).
 */
export const GENERATION_READ = defineScript<string | Buffer>({
  name: 'rmwApiGenerationRead',
  lua: `
local gen = redis.call('GET', KEYS[1])
if not gen then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl >= 0 and ttl < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return gen
`,
  memory(store: MemoryStore, keys: string[], args: string[]): string {
    const key = keys[0] as string;
    const gen = store.get<string | Buffer>(key);
    if (gen === undefined || gen === null) {
      store.set(key, args[0], Number(args[1]));
      return args[0] as string;
    }
    const ttl = store.pttl(key);
    if (ttl >= 0 && ttl < Number(args[2])) store.set(key, gen, Number(args[1]));
    return text(gen);
  },
});

/**
 * KEYS[1] = index, KEYS[2] = its generation; ARGV[1] = the generation the fill started under (as
 * `GENERATION_READ` replied: never empty, so a missing generation reads as changed), ARGV[2] = lifetime in ms, ARGV[3…] = members (the entry key and its pending key).
 * Adds the members scored by their expiry (server clock), drops members that already expired, keeps
 * the index alive as long as its longest-lived member, and returns 1 when the generation is still
 * the one the fill started under (0: the target was invalidated meanwhile, or its generation expired or
was evicted; the fill must not commit).
 * Adding and reading in one step is what closes the stale-set race: an invalidation either sees
 * these members (and deletes them) or changed the generation before (and the fill sees it).
 */
export const INDEX_ADD = defineScript<number>({
  name: 'rmwApiIndexAdd',
  lua: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then return 1 end
return 0
`,
  memory(store: MemoryStore, keys: string[], args: string[], now: number): number {
    const indexKey = keys[0] as string;
    const ttl = Number(args[1]);
    const set = store.get<IndexSet>(indexKey) ?? new Map<string, number>();
    for (const member of args.slice(2)) set.set(member, now + ttl);
    for (const [member, expiresAt] of set) if (expiresAt <= now) set.delete(member);
    store.set(indexKey, set, Math.max(ttl, store.pttl(indexKey)));
    return args[0] !== '' && text(store.get(keys[1] as string)) === args[0] ? 1 : 0;
  },
});

/**
 * KEYS[1] = index, KEYS[2] = its generation; ARGV[1] = a new generation token, ARGV[2] = its lifetime
 * in ms. Moves the generation on, drops the index's expired members and returns the live ones,
 * atomically. The caller deletes them next; they stay in the index (until their score expires), so a
 * retry finds them again when this reply never arrived (Redis frozen: the script ran after the client
 * gave up on it).
 */
export const INVALIDATE = defineScript<string[]>({
  name: 'rmwApiInvalidate',
  lua: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`,
  memory(store: MemoryStore, keys: string[], args: string[], now: number): string[] {
    store.set(keys[1] as string, args[0], Number(args[1]));
    const set = store.get<IndexSet>(keys[0] as string);
    if (set === undefined) return [];
    for (const [member, expiresAt] of set) if (expiresAt <= now) set.delete(member);
    return [...set.keys()];
  },
});

/**
 * KEYS[1] = the route's generation, KEYS[2] = the pending copy of the entry, KEYS[3] = the entry
 * (one hash tag: the endpoint's); ARGV[1] = the route generation the fill started under (never empty:
 * a missing generation means "changed").
 * Renames the pending copy to the entry (keeping its TTL) when the route was not invalidated and no
 * invalidation deleted the pending copy meanwhile: 1 when committed, else 0 (the pending copy is dropped).
 */
export const STORE_COMMIT = defineScript<number>({
  name: 'rmwApiStoreCommit',
  lua: `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if ARGV[1] == '' or redis.call('GET', KEYS[1]) ~= ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 0
end
redis.call('RENAME', KEYS[2], KEYS[3])
return 1
`,
  memory(store: MemoryStore, keys: string[], args: string[]): number {
    const [genKey, pendingKey, entryKey] = keys as [string, string, string];
    const pending = store.get(pendingKey);
    if (pending === undefined) return 0;
    if (args[0] === '' || text(store.get(genKey)) !== args[0]) {
      store.delete(pendingKey);
      return 0;
    }
    const ttl = store.pttl(pendingKey);
    store.delete(pendingKey);
    store.set(entryKey, pending, ttl > 0 ? ttl : undefined);
    return 1;
  },
});
