// Checks a stored session's cookie the way express-session will use it, so bad values become a fresh session, not a hung request.
import { Cookie } from 'express-session';

/** The stored cookie fields express-session reads, with the JSON types it can use. */
const FIELD_TYPES: Readonly<Record<string, readonly string[]>> = {
  originalMaxAge: ['number', 'null'],
  expires: ['string', 'null'],
  secure: ['boolean', 'string'],
  httpOnly: ['boolean'],
  partitioned: ['boolean'],
  domain: ['string'],
  path: ['string'],
  sameSite: ['boolean', 'string'],
  priority: ['string'],
};

/**
 * Why express-session could not use this stored cookie, or undefined when it can. express-session copies
 * the stored cookie onto its `Cookie`, resets `maxAge` from `originalMaxAge` and serializes it when the
 * response is written: a value it cannot take throws there, inside `res.end`, which no error handler
 * sees (the request hangs). So each field's JSON type is checked, then those exact steps are replayed on
 * express-session's own `Cookie` (its rules, not a copy of them).
 */
export function storedCookieProblem(stored: Record<string, unknown>): string | undefined {
  for (const [field, types] of Object.entries(FIELD_TYPES)) {
    const value = stored[field];
    if (value === undefined) continue;
    const type = value === null ? 'null' : typeof value;
    if (!types.includes(type)) return `has a cookie.${field} of type ${type}`;
  }
  if ('maxAge' in stored || 'data' in stored) return 'has a cookie with a maxAge or data field';
  if (typeof stored.originalMaxAge === 'number' && !Number.isFinite(stored.originalMaxAge)) {
    return 'has a cookie.originalMaxAge that is not a finite number';
  }
  if (typeof stored.expires === 'string' && !Number.isFinite(Date.parse(stored.expires))) {
    return 'has a cookie.expires that is not a date';
  }
  try {
    // As express-session's Store#createSession, Session#resetMaxAge and setcookie do, in that order.
    const cookie = new (Cookie as unknown as new (stored: object) => Cookie)(stored);
    if (typeof stored.expires === 'string') cookie.expires = new Date(stored.expires);
    cookie.originalMaxAge = stored.originalMaxAge as number;
    cookie.maxAge = cookie.originalMaxAge as number;
    (cookie as unknown as { serialize(name: string, value: string): string }).serialize('sid', 'probe');
  } catch (error) {
    return `has a cookie express-session cannot use (${(error as Error).message})`;
  }
  return undefined;
}
