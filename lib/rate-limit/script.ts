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
 * (`CFG`, see {@link slidingWindowLua}) rather than sent and parsed with every call.
 *
 * Reply: `{ allowed (1|0), retryAfterMs, then per window: used, nextMs }` where `used` includes this
 * request when allowed, `nextMs` is how long until the oldest counted bucket leaves the window, i.e. until
 * more units become available (0 when nothing is counted), and `retryAfterMs` (when rejected) is how long
 * until this request would fit (-1: its cost exceeds a limit).
 */
export function slidingWindowLua(windows: readonly WindowConfig[]): string {
  const config = windows.flatMap((w) => [w.bucketMs, w.bucketCount, w.limit]).join(', ');
  const zeros = (count: number) => new Array<string>(count).fill('0').join(', ');
  return `local CFG = { ${config} }
local tonumber, floor, format = tonumber, math.floor, string.format
local cost = tonumber(ARGV[1])
local write = cost > 0
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + floor(tonumber(clock[2]) / 1000)
local windows = #KEYS
-- Per window i, at 9 * (i - 1) + 1 ...: size, count, limit, current, oldest, n, o (false: none), the
-- current bucket's count, its field name. One flat list (ST, sized in advance): no table per window.
local st = { ${zeros(9 * windows.length)} }
local allowed = 1
for i = 1, windows do
  local key = KEYS[i]
  local size, count, limit = CFG[3 * i - 2], CFG[3 * i - 1], CFG[3 * i]
  local current = floor(now / size)
  local oldest = current - count
  local field = format('%d', current)
  local fields = redis.call('HMGET', key, 'n', 'o', field)
  local n = tonumber(fields[1]) or 0
  local o = tonumber(fields[2])
  local here = tonumber(fields[3]) or 0
  if o and o < oldest then
    if oldest > o + count then
      n = 0
      o = nil
      here = 0
      if write then redis.call('DEL', key) end
    else
      -- Buckets o .. oldest - 1 left the window; the first non-empty one after them is the new oldest.
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
        n = 0
        o = nil
        here = 0
        if write then redis.call('DEL', key) end
      else
        o = first
        if write then redis.call('HSET', key, 'n', n, 'o', format('%d', o)) end
      end
    end
  end
  if n + cost > limit or limit < 1 then allowed = 0 end
  local at = 9 * (i - 1)
  st[at + 1], st[at + 2], st[at + 3], st[at + 4] = size, count, limit, current
  st[at + 5], st[at + 6], st[at + 7], st[at + 8], st[at + 9] = oldest, n, o or false, here, field
end
local reply = { ${zeros(2 + 2 * windows.length)} }
reply[1] = allowed
if allowed == 1 and write then
  for i = 1, windows do
    local at = 9 * (i - 1)
    local size, count, current, n, o, here = st[at + 1], st[at + 2], st[at + 4], st[at + 6], st[at + 7], st[at + 8]
    local key = KEYS[i]
    local field = st[at + 9]
    if o then
      redis.call('HSET', key, field, here + cost, 'n', n + cost)
    else
      redis.call('HSET', key, field, here + cost, 'n', n + cost, 'o', field)
    end
    -- The expiry is a fixed instant per bucket ((current + count + 1) * size): only the first request of a
    -- bucket moves it. Later ones in the same bucket would set the same instant again.
    if here == 0 then redis.call('PEXPIRE', key, format('%d', (current + count + 1) * size - now)) end
    reply[2 * i + 1] = n + cost
    reply[2 * i + 2] = ((o or current) + count + 1) * size - now
  end
  return reply
end
local retry = 0
for i = 1, windows do
  local at = 9 * (i - 1)
  local size, count, limit, current, oldest, n, o = st[at + 1], st[at + 2], st[at + 3], st[at + 4], st[at + 5], st[at + 6], st[at + 7]
  local key = KEYS[i]
  local nextMs = 0
  if n > 0 and o then nextMs = (o + count + 1) * size - now end
  if allowed == 0 and n + cost > limit then
    local wait = -1
    if cost <= limit then
      local need = n + cost - limit
      local freed = 0
      for b = oldest, current do
        freed = freed + (tonumber(redis.call('HGET', key, format('%d', b))) or 0)
        if freed >= need then
          wait = (b + count + 1) * size - now
          break
        end
      end
      if wait < 0 then wait = math.max(0, redis.call('PTTL', key)) end
    end
    if wait < 0 then
      retry = -1
    elseif retry >= 0 and wait > retry then
      retry = wait
    end
  end
  reply[2 * i + 1] = n
  reply[2 * i + 2] = nextMs
end
reply[2] = retry
return reply
`;
}

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
