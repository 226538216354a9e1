// The touch script: moves a session's expiry forward (key TTL and the stored `$until`) without rewriting its data.
import { defineScript } from '../redis';
import { STORED_HEAD, UNTIL_OFFSET } from './codec';

/** A stored value whose expiry the script may rewrite: our head, exactly 13 digits, then `,` or `}`. */
const REWRITABLE = new RegExp(`^${STORED_HEAD.replace(/[{$]/g, '\\$&')}\\d{13}[,}]`);

/**
 * KEYS[1] = session key; ARGV[1] = new expiry (13 digits of epoch ms); ARGV[2] = TTL in ms.
 * Only ever extends: a concurrent save that already wrote a later expiry is left alone, and the data
 * is never rewritten, so a touch cannot undo another request's save. It rewrites the 13 digits only
 * after checking that they are 13 digits followed by `,` or `}` (anything else there, such as
 * `"$until":"abc"` or `"$until":5`, is left untouched: the next read of it starts a fresh session).
 * A value without the `$until` head (written by plain connect-redis) just gets its TTL extended.
 * Returns 1 when it extended, else 0.
 */
export const touchScript = defineScript<number>({
  name: 'sessionsTouch',
  lua: `
local head = redis.call('GETRANGE', KEYS[1], 0, ${UNTIL_OFFSET + 13})
if head == '' then return 0 end
if string.sub(head, 1, ${UNTIL_OFFSET}) ~= '${STORED_HEAD}' then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not string.match(head, '^' .. string.rep('%d', 13) .. '[,}]', ${UNTIL_OFFSET + 1}) then return 0 end
local current = tonumber(string.sub(head, ${UNTIL_OFFSET + 1}, ${UNTIL_OFFSET + 13}))
if current >= tonumber(ARGV[1]) then return 0 end
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
    if (!text.startsWith(STORED_HEAD)) {
      store.set(key, value, ttlMs);
      return 1;
    }
    if (!REWRITABLE.test(text)) return 0;
    const current = Number(text.slice(UNTIL_OFFSET, UNTIL_OFFSET + 13));
    if (current >= Number(until)) return 0;
    store.set(key, Buffer.from(text.slice(0, UNTIL_OFFSET) + until + text.slice(UNTIL_OFFSET + 13)), ttlMs);
    return 1;
  },
});
