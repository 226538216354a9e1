// The sliding-window Lua script (all windows checked and counted atomically) and its in-memory twin.
import { defineScript, type MemoryStore, type ScriptDefinition, type ScriptReply } from '../redis';
import type { WindowConfig } from './options';

/**
 * Sliding windows made of sub-window buckets, one hash per window:
 *
 * - A window of `W` ms is cut into buckets of `size = floor(W / B)` ms (`B` = the `buckets` option), so
 *   `count = ceil(W / size)` buckets cover at least `W`. Bucket `c = floor(now / size)` is the current one.
 * - The count of a window is the sum of buckets `c - count … c` (`count + 1` buckets). The oldest one is
 *   only partly inside the last `W` ms and is counted whole, so the count never misses a request of the
 *   last `W` ms: no interval of length `W` ever holds more than the limit. It may count up to one bucket
 *   (`size` ms) of older requests too, which only makes the limiter reject early, by at most one bucket.
 * - Hash fields: `n` (the running total of live buckets), `o` (the oldest non-empty bucket) and one field
 *   per non-empty bucket (its index → its count). Expired buckets are deleted as time moves, and `o` moves
 *   to the next non-empty bucket, so a key holds at most `count + 3` fields whatever the limit. (Keys
 *   written by earlier versions may hold an `o` below the oldest non-empty bucket: it is corrected at the
 *   next pruning, and meanwhile only makes `nextMs` shorter.)
 * - A request of `cost` passes only if `n + cost <= limit` in EVERY window; only then is it counted, in
 *   every window, and every key gets `PEXPIRE` until its newest bucket leaves the window (by the first
 *   request of a bucket; the instant is the same for every later request in it). A rejected
 *   request writes nothing but the pruning of expired buckets.
 * - The clock is Redis's own (`TIME`), so app instances with skewed clocks agree.
 *
 * Calls per request, on the common path (no bucket expired since the key's last request): one `TIME`, then
 * per window one `HMGET n o <current bucket>` and, when the request passes, one `HSET` of the current
 * bucket and `n` (and `o` for a new key), plus `PEXPIRE` once per bucket. The script runs atomically, so
 * the values it read are still the values when it writes: `HSET` of the sums is exact, no `HINCRBY` needed.
 * Pruning (a bucket left the window) adds an `HGET` per bucket walked and an `HDEL` per expired bucket.
 *
 * KEYS: one hash per window (they share one hash tag). ARGV: `cost` (0 = read only, writes nothing).
 * The windows' `size`, `count` and `limit` are constant per limiter, so they are written into the script
 * (one per window configuration) rather than sent and parsed with every call.
 *
 * Reply: `{ allowed (1|0), retryAfterMs, then per window: used, nextMs }` where `used` includes this
 * request when allowed, `nextMs` is how long until the oldest counted bucket leaves the window, i.e. until
 * more units become available (0 when nothing is counted), and `retryAfterMs` (when rejected) is how long
 * until this request would fit (-1: its cost exceeds a limit).
 */
export function slidingWindowLua(windows: readonly WindowConfig[]): string {
  // Straight-line code per window (its constants written in, its state in locals `n1`, `o1`…): no table
  // per request but the replies. The rare paths (pruning, a rejection's wait) are the functions above it.
  const each = (code: (w: WindowConfig, i: number) => string, separator = '\n') =>
    windows.map((w, i) => code(w, i + 1)).join(separator);
  return `${SCRIPT_PRELUDE}
${each(
  ({ bucketMs: size, bucketCount: count }, i) => `local c${i} = floor(now / ${size})
local f${i} = format('%d', c${i})
local r${i} = redis.call('HMGET', KEYS[${i}], 'n', 'o', f${i})
local n${i}, o${i}, h${i} = tonumber(r${i}[1]) or 0, tonumber(r${i}[2]), tonumber(r${i}[3]) or 0
if o${i} and o${i} < c${i} - ${count} then n${i}, o${i}, h${i} = prune(KEYS[${i}], ${count}, c${i} - ${count}, n${i}, o${i}, h${i}) end`,
)}
local allowed = ${each((w, i) => `n${i} + cost <= ${w.limit}`, ' and ')}
if allowed and write then
${each(({ bucketMs: size, bucketCount: count }, i) => `  add(KEYS[${i}], f${i}, h${i}, n${i}, o${i}, (c${i} + ${count + 1}) * ${size} - now)`)}
  return { 1, 0, ${each(({ bucketMs: size, bucketCount: count }, i) => `n${i} + cost, ((o${i} or c${i}) + ${count + 1}) * ${size} - now`, ', ')} }
end
local retry = 0
if not allowed then
${each(({ bucketMs: size, bucketCount: count, limit }, i) => `  retry = slowest(retry, KEYS[${i}], ${size}, ${count}, ${limit}, c${i}, n${i})`)}
end
return { allowed and 1 or 0, retry, ${each(({ bucketMs: size, bucketCount: count }, i) => `n${i}, nextMs(n${i}, o${i}, ${count}, ${size})`, ', ')} }
`;
}

/** The part of the script that is the same for every limiter: the clock, and the functions of the rare paths. */
const SCRIPT_PRELUDE = `local tonumber, floor, format = tonumber, math.floor, string.format
local cost = tonumber(ARGV[1])
local write = cost > 0
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + floor(tonumber(clock[2]) / 1000)

-- Buckets o .. oldest - 1 left the window: returns n, o and the current bucket's count without them
-- (and, when writing, deletes them; the first non-empty bucket after them is the new oldest).
local function prune(key, count, oldest, n, o, here)
  if oldest > o + count then
    if write then redis.call('DEL', key) end
    return 0, nil, 0
  end
  local first = nil
  for b = o, o + count do
    local name = format('%d', b)
    local v = tonumber(redis.call('HGET', key, name))
    if v then
      if b < oldest then
        n = n - v
        if write then redis.call('HDEL', key, name) end
      else
        first = b
        break
      end
    end
  end
  if n <= 0 or not first then
    if write then redis.call('DEL', key) end
    return 0, nil, 0
  end
  if write then redis.call('HSET', key, 'n', n, 'o', format('%d', first)) end
  return n, first, here
end

-- Counts the request in one window. The expiry is a fixed instant per bucket: only the first request of
-- a bucket moves it (later ones in the same bucket would set the same instant again).
local function add(key, field, here, n, o, ttl)
  if o then
    redis.call('HSET', key, field, here + cost, 'n', n + cost)
  else
    redis.call('HSET', key, field, here + cost, 'n', n + cost, 'o', field)
  end
  if here == 0 then redis.call('PEXPIRE', key, format('%d', ttl)) end
end

-- Ms until more units of a window become available (0 when nothing is counted).
local function nextMs(n, o, count, size)
  if n > 0 and o then return (o + count + 1) * size - now end
  return 0
end

-- A rejected request: the longest wait of the windows without room (-1 once one can never fit it).
local function slowest(retry, key, size, count, limit, current, n)
  if n + cost <= limit then return retry end
  local wait = -1
  if cost <= limit then
    local need = n + cost - limit
    local freed = 0
    for b = current - count, current do
      freed = freed + (tonumber(redis.call('HGET', key, format('%d', b))) or 0)
      if freed >= need then
        wait = (b + count + 1) * size - now
        break
      end
    end
    if wait < 0 then wait = math.max(0, redis.call('PTTL', key)) end
  end
  if wait < 0 then return -1 end
  if retry >= 0 and wait > retry then return wait end
  return retry
end`;

/** What the memory twin keeps per window key (the Lua hash, as an object). */
interface WindowHash {
  /** Total of the live buckets. */
  n: number;
  /** Oldest non-empty bucket. */
  o: number | undefined;
  /** Bucket index → count. */
  buckets: Map<number, number>;
  /** When the key expires, on the caller's clock (so an injected clock expires it too). */
  expiresAt: number;
}

function readHash(store: MemoryStore, key: string, now: number): WindowHash | undefined {
  const hash = store.get<WindowHash>(key);
  if (hash === undefined) return undefined;
  if (hash.expiresAt <= now) {
    store.delete(key);
    return undefined;
  }
  return hash;
}

/** The same algorithm on the memory store, step for step (see {@link slidingWindowLua}). */
function slidingWindowMemory(
  windows: readonly WindowConfig[],
  store: MemoryStore,
  keys: string[],
  args: string[],
  now: number,
): number[] {
  const cost = Number(args[0]);
  const write = cost > 0;
  let allowed = 1;
  const state = keys.map((key, i) => {
    const { bucketMs: size, bucketCount: count, limit } = windows[i] as WindowConfig;
    const current = Math.floor(now / size);
    const oldest = current - count;
    let hash = readHash(store, key, now);
    let n = hash?.n ?? 0;
    let o = hash?.o;
    if (hash && o !== undefined && o < oldest) {
      if (oldest > o + count) {
        n = 0;
        o = undefined;
      } else {
        let first: number | undefined;
        for (let b = o; b <= o + count; b++) {
          const v = hash.buckets.get(b);
          if (v === undefined) continue;
          if (b < oldest) n -= v;
          else {
            first = b;
            break;
          }
        }
        o = n <= 0 || first === undefined ? undefined : first;
        n = o === undefined ? 0 : n;
      }
      if (write) {
        if (o === undefined) {
          store.delete(key);
          hash = undefined;
        } else {
          for (const b of hash.buckets.keys()) if (b < oldest) hash.buckets.delete(b);
          hash.n = n;
          hash.o = o;
        }
      }
    }
    if (n + cost > limit || limit < 1) allowed = 0;
    return { key, size, count, limit, current, oldest, n, o, hash };
  });

  if (allowed === 1 && write) {
    const reply = [1, 0];
    for (const s of state) {
      const hash: WindowHash = s.hash ?? { n: 0, o: undefined, buckets: new Map(), expiresAt: 0 };
      hash.buckets.set(s.current, (hash.buckets.get(s.current) ?? 0) + cost);
      hash.n = s.n + cost;
      hash.o = s.o ?? s.current;
      const ttl = (s.current + s.count + 1) * s.size - now;
      hash.expiresAt = now + ttl;
      store.set(s.key, hash, ttl);
      reply.push(s.n + cost, (hash.o + s.count + 1) * s.size - now);
    }
    return reply;
  }

  const reply = [allowed, 0];
  let retry = 0;
  for (const s of state) {
    const nextMs = s.n > 0 && s.o !== undefined ? (s.o + s.count + 1) * s.size - now : 0;
    if (allowed === 0 && s.n + cost > s.limit) {
      let wait = -1;
      if (cost <= s.limit) {
        const need = s.n + cost - s.limit;
        let freed = 0;
        for (let b = s.oldest; b <= s.current; b++) {
          freed += s.hash?.buckets.get(b) ?? 0;
          if (freed >= need) {
            wait = (b + s.count + 1) * s.size - now;
            break;
          }
        }
        if (wait < 0) wait = s.hash ? Math.max(0, s.hash.expiresAt - now) : 0;
      }
      if (wait < 0) retry = -1;
      else if (retry >= 0 && wait > retry) retry = wait;
    }
    reply.push(s.n, nextMs);
  }
  reply[1] = retry;
  return reply;
}

/**
 * The script of one limiter's windows: checks every window and, only if all have room, counts the request
 * in all of them. One script (and SHA) per window configuration; they share one name in metrics and logs.
 */
export function slidingWindowScript(windows: readonly WindowConfig[]): ScriptDefinition<ScriptReply> {
  return defineScript<ScriptReply>({
    name: 'rateLimitSlidingWindow',
    lua: slidingWindowLua(windows),
    memory: (store, keys, args, now) => slidingWindowMemory(windows, store, keys, args, now),
  });
}
