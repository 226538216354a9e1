// The query cache's Lua scripts (each with its in-memory twin): create a generation, store and invalidate.
import { defineScript } from '../redis';

/**
 * Reads the generation of one table, creating it when absent (first use, or the key was evicted or
 * lost): a new token makes every older entry of the table a miss, so a lost generation can never
 * resurrect stale data. KEYS[1] = `db:{t}:gen`; ARGV[1] = a token never offered before, ARGV[2] = the
 * generation's TTL in ms. Replies the generation.
 */
export const generationScript = defineScript<string>({
  name: 'queryCacheGeneration',
  lua: `
local gen = redis.call('GET', KEYS[1])
if not gen then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  gen = ARGV[1]
end
return gen
`,
  memory(store, keys, args) {
    const gen = store.get<string>(keys[0] as string);
    if (typeof gen === 'string') return gen;
    store.set(keys[0] as string, args[0], Number(args[1]));
    return args[0] as string;
  },
});

/**
 * Stores an entry only while the generation it was loaded under is still current, so a loader that
 * started before an invalidation cannot overwrite a newer entry (the table's own half of the stale-set
 * guard; the other tables' generations, recorded in the entry, are checked on every read). Refreshes
 * the generation's TTL, so it outlives the entry. KEYS[1] = entry, KEYS[2] = generation; ARGV = expected
 * generation, entry, entry TTL in ms, generation TTL in ms. Replies 1 or 0.
 */
export const storeScript = defineScript<number>({
  name: 'queryCacheStore',
  lua: `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
`,
  memory(store, keys, args) {
    if (store.get(keys[1] as string) !== args[0]) return 0;
    store.set(keys[0] as string, args[1], Number(args[2]));
    store.set(keys[1] as string, args[0], Number(args[3]));
    return 1;
  },
});

/**
 * Invalidates a table: one SET of a new, never-used generation token. O(1) whatever the number of
 * cached queries. KEYS[1] = `db:{t}:gen`; ARGV[1] = the new token, ARGV[2] = its TTL in ms. Replies 1.
 */
export const invalidateScript = defineScript<number>({
  name: 'queryCacheInvalidate',
  lua: `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`,
  memory(store, keys, args) {
    store.set(keys[0] as string, args[0], Number(args[1]));
    return 1;
  },
});

/**
 * Extends the TTL of a table's generation (when an entry that recorded it is stored under another
 * table), so a generation outlives the entries that depend on it. KEYS[1] = `db:{t}:gen`; ARGV[1] = TTL
 * in ms. Replies 1, or 0 when the generation does not exist (then nothing is created).
 */
export const refreshScript = defineScript<number>({
  name: 'queryCacheRefresh',
  lua: `
return redis.call('PEXPIRE', KEYS[1], ARGV[1])
`,
  memory(store, keys, args) {
    const gen = store.get<string>(keys[0] as string);
    if (typeof gen !== 'string') return 0;
    store.set(keys[0] as string, gen, Number(args[0]));
    return 1;
  },
});
