// The touch script: moves a session's expiry forward (key TTL and the stored `$until`) without rewriting its data.
import { defineScript } from '../redis';
import { UNTIL_OFFSET } from './codec';

/**
 * KEYS[1] = session key; ARGV[1] = new expiry (13 digits of epoch ms); ARGV[2] = TTL in ms.
 * Only ever extends: a concurrent save that already wrote a later expiry is left alone, and the data
 * is never rewritten, so a touch cannot undo another request's save. A value without the `$until`
 * head (written by something else) just gets its TTL extended. Returns 1 when it extended, else 0.
 */
export const touchScript = defineScript<number>({
  name: 'sessionsTouch',
  lua: `
local head = redis.call('GETRANGE', KEYS[1], 0, ${UNTIL_OFFSET + 12})
if head == '' then return 0 end
if string.sub(head, 1, ${UNTIL_OFFSET}) ~= '{"$until":' then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local current = tonumber(string.sub(head, ${UNTIL_OFFSET + 1}, ${UNTIL_OFFSET + 13}))
if current ~= nil and current >= tonumber(ARGV[1]) then return 0 end
redis.call('SETRANGE', KEYS[1], ${UNTIL_OFFSET}, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
  memory(store, keys, args) {
    const key = keys[0] as string;
    const value = store.get<Buffer>(key);
    if (value === undefined) return 0;
    const until = args[0] as string;
    const ttlMs = Number(args[1]);
    const text = value.toString('utf8');
    if (!text.startsWith('{"$until":')) {
      store.set(key, value, ttlMs);
      return 1;
    }
    const current = Number(text.slice(UNTIL_OFFSET, UNTIL_OFFSET + 13));
    if (current >= Number(until)) return 0;
    store.set(key, Buffer.from(text.slice(0, UNTIL_OFFSET) + until + text.slice(UNTIL_OFFSET + 13)), ttlMs);
    return 1;
  },
});
