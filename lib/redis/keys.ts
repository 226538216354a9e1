// Builds every Redis key of the five patterns; user-controlled parts are encoded so keys cannot be forged.
import { HASH_LENGTH, sha256Hex } from './canonical';

/**
 * Characters a key part keeps as they are. Everything else, including `{ } * ? [ ] :`, `|`, `%`, `!`
 * and whitespace, is percent-encoded as UTF-8, so the encoding is injective and no part can open a
 * hash tag, end a segment or act as a glob.
 */
const SAFE_CHARACTER = /[A-Za-z0-9\-._~/@+=,]/;

/** Encoded parts longer than this are replaced by `!` + their SHA-256 (the encoder never emits `!`). */
export const MAX_PART_LENGTH = 64;

/** Key prefixes, one per concern (also the ACL key patterns an operator grants). */
export const KEY_PREFIX = {
  session: 'session:',
  rate: 'rate:',
  ai: 'ai:',
  db: 'db:',
  api: 'api:',
} as const;

/**
 * Encodes one user-controlled key part (user id, endpoint, table, model name). Distinct inputs give
 * distinct outputs; the output never contains `{ } * ? [ ] :`, whitespace or `|`.
 */
export function encodeKeyPart(part: string): string {
  let encoded = '';
  for (const char of part) {
    encoded += SAFE_CHARACTER.test(char)
      ? char
      : Array.from(Buffer.from(char, 'utf8'), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(
          '',
        );
  }
  if (encoded === '') return '%';
  return encoded.length > MAX_PART_LENGTH ? `!${sha256Hex(part).slice(0, HASH_LENGTH)}` : encoded;
}

/** `session:<id>`. Session ids come from express-session's generator; they are encoded all the same. */
export function sessionKey(sessionId: string): string {
  return KEY_PREFIX.session + encodeKeyPart(sessionId);
}

/**
 * The hash tag shared by every window of one subject on one endpoint: `{<subject>|<endpoint>}`.
 * All windows of a limiter are touched by one script, so they must live in one Cluster slot.
 */
export function rateTag(subject: string, endpoint: string): string {
  return `{${encodeKeyPart(subject)}|${encodeKeyPart(endpoint)}}`;
}

/** `rate:{<subject>|<endpoint>}:<window>`, e.g. `rate:{u42|/ai/suggest}:1m`. */
export function rateKey(subject: string, endpoint: string, windowLabel: string): string {
  return `${KEY_PREFIX.rate}${rateTag(subject, endpoint)}:${encodeKeyPart(windowLabel)}`;
}

/** `ai:<model>:<input_hash>`; `inputHash` must come from {@link hashCanonical}. */
export function aiKey(model: string, inputHash: string): string {
  return `${KEY_PREFIX.ai}${encodeKeyPart(model)}:${inputHash}`;
}

/** `db:{<table>}`: the hash tag that keeps one table's entries and its bookkeeping in one Cluster slot. */
export function dbTag(table: string): string {
  return `{${encodeKeyPart(table)}}`;
}

/** `db:{<table>}:<suffix>`, e.g. `db:{recipes}:9f86d0…` for a query or `db:{recipes}:gen` for bookkeeping. */
export function dbKey(table: string, suffix: string): string {
  return `${KEY_PREFIX.db}${dbTag(table)}:${suffix}`;
}

/** `api:{<endpoint>}`: the hash tag that keeps one route's responses in one Cluster slot. */
export function apiTag(endpoint: string): string {
  return `{${encodeKeyPart(endpoint)}}`;
}

/** `api:{<endpoint>}:<suffix>`, e.g. `api:{/recipes/:id}:<params_hash>`. */
export function apiKey(endpoint: string, suffix: string): string {
  return `${KEY_PREFIX.api}${apiTag(endpoint)}:${suffix}`;
}
