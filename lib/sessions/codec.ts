// The stored form of a session: JSON with two leading bookkeeping fields, parsed safely (no prototype keys).
import type { SessionData } from 'express-session';
import { storedCookieProblem } from './cookie-check';

/**
 * Every stored session starts with exactly this text, followed by 13 digits (epoch ms): the time the
 * Redis key expires. The fixed offset lets the touch script move the expiry without rewriting the body.
 */
export const STORED_HEAD = '{"$until":';
/** Offset of the 13 expiry digits in a stored value. */
export const UNTIL_OFFSET = STORED_HEAD.length;
const UNTIL_FIELD = '$until';
const CREATED_FIELD = '$created';
/** Keys that are never accepted from storage: they could reach an object's prototype when copied. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor']);

/**
 * Bookkeeping carried on `req.session.cookie` between load and touch/save. express-session's `Cookie`
 * copies unknown keys of the stored cookie onto itself and leaves them out of its JSON and of the
 * modification hash, so these never reach the application's data or force a save.
 */
export interface CookieBookkeeping {
  /** When the Redis key expires, as last written (epoch ms). */
  storedUntil?: number;
  /** When the session was first saved (epoch ms); the base of `maxLifetime`. */
  createdAt?: number;
}

/** The bookkeeping fields of a session's cookie (mutable: a save updates them). */
export function bookkeepingOf(session: SessionData): CookieBookkeeping {
  return session.cookie as unknown as CookieBookkeeping;
}

/** 13 digits of epoch ms: the fixed width the touch script relies on (valid from 2001 to 2286). */
export function formatUntil(untilMs: number): string {
  const digits = String(Math.ceil(untilMs));
  if (digits.length !== 13) throw new RangeError(`session expiry ${digits} is not 13 digits of epoch ms`);
  return digits;
}

/** Serializes a session as `{"$until":<ms>,"$created":<ms>,...session}` (top-level `$until`/`$created` are reserved). */
export function encodeSession(session: SessionData, untilMs: number, createdMs: number): string {
  const body = JSON.stringify(session, function omitReserved(this: unknown, key: string, value: unknown) {
    return this === session && (key === UNTIL_FIELD || key === CREATED_FIELD) ? undefined : value;
  });
  const rest = body === '{}' ? '}' : `,${body.slice(1)}`;
  return `${STORED_HEAD}${formatUntil(untilMs)},"${CREATED_FIELD}":${Math.floor(createdMs)}${rest}`;
}

/** What a stored value decodes to: the session, or why it is unusable. */
export type Decoded = { ok: true; session: SessionData } | { ok: false; reason: string };

/**
 * Parses a stored value. Anything but a JSON object with a `cookie` object, a value above `maxBytes`,
 * or one carrying a `__proto__`/`constructor` key anywhere is refused (the caller starts a fresh session).
 */
export function decodeSession(raw: Buffer, maxBytes: number): Decoded {
  if (raw.length > maxBytes) return { ok: false, reason: `is ${raw.length} bytes, above maxSize ${maxBytes}` };
  let forbidden: string | undefined;
  let parsed: unknown;
  try {
    // A reviver makes JSON.parse several times slower (it was a visible share of a request's CPU in
    // `node --cpu-prof`). It is only needed when a forbidden key can be in the text: spelled out, or
    // hidden behind a \u escape.
    parsed = mayHideForbiddenKey(raw)
      ? JSON.parse(raw.toString('utf8'), (key, value: unknown) => {
          if (FORBIDDEN_KEYS.has(key)) {
            forbidden = key;
            return undefined;
          }
          return value;
        })
      : JSON.parse(raw.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `is not valid JSON (${(error as Error).message})` };
  }
  if (forbidden !== undefined) return { ok: false, reason: `carries a forbidden "${forbidden}" key` };
  if (!isPlainObject(parsed) || !isPlainObject(parsed.cookie)) {
    return { ok: false, reason: 'is not a session object with a cookie' };
  }
  const until = parsed[UNTIL_FIELD];
  const created = parsed[CREATED_FIELD];
  // Absent bookkeeping is fine (values written by plain connect-redis); present but unusable is not ours.
  if (until !== undefined && !isUntil(until))
    return { ok: false, reason: `has an unusable "$until" (${describe(until)})` };
  if (created !== undefined && !isEpochMs(created)) {
    return { ok: false, reason: `has an unusable "$created" (${describe(created)})` };
  }
  const cookieProblem = storedCookieProblem(parsed.cookie);
  if (cookieProblem !== undefined) return { ok: false, reason: cookieProblem };
  delete parsed[UNTIL_FIELD];
  delete parsed[CREATED_FIELD];
  const bookkeeping = parsed.cookie as CookieBookkeeping;
  // Never trust bookkeeping-named fields a writer put inside the cookie itself.
  delete bookkeeping.storedUntil;
  delete bookkeeping.createdAt;
  if (typeof until === 'number') bookkeeping.storedUntil = until;
  if (typeof created === 'number') bookkeeping.createdAt = created;
  return { ok: true, session: parsed as unknown as SessionData };
}

/** Whether the raw JSON could decode to a `__proto__`/`constructor` key (false = a plain parse is safe). */
function mayHideForbiddenKey(raw: Buffer): boolean {
  return raw.includes('__proto__') || raw.includes('constructor') || raw.includes('\\u');
}

/** A whole, non-negative number of epoch ms. */
function isEpochMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Epoch ms in exactly the 13 digits `formatUntil` writes (what the touch script rewrites in place). */
function isUntil(value: unknown): value is number {
  return isEpochMs(value) && value >= 1_000_000_000_000 && value <= 9_999_999_999_999;
}

/** A short description of an unusable value for the log line (never the whole stored value). */
function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
