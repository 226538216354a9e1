// Keys, generation tokens and the stored entry layout: `<generation of each table><payload>`.
import { hash, randomBytes } from 'node:crypto';
import { canonicalJson, dbKey, HASH_LENGTH } from '../redis';

/** Length of a generation token: 12 random bytes as base64url (96 bits, never reused in practice). */
export const TOKEN_LENGTH = 16;

/** A new generation token. */
export function newToken(): string {
  return randomBytes(12).toString('base64url');
}

/** Suffix of a table's generation key: `db:{<table>}:gen`. Query hashes are hex, so they never collide with it. */
export function generationKey(table: string): string {
  return prefixOf(table) + GENERATION_SUFFIX;
}

const GENERATION_SUFFIX = 'gen';
/** `db:{<encoded table>}:` per table, so the hit path does not re-encode names (bounded: cleared past 1000). */
const prefixes = new Map<string, string>();

function prefixOf(table: string): string {
  let prefix = prefixes.get(table);
  if (prefix === undefined) {
    if (prefixes.size >= 1000) prefixes.clear();
    prefix = dbKey(table, '');
    prefixes.set(table, prefix);
  }
  return prefix;
}

/**
 * The entry key of a query: `db:{<first table>}:<hash>`, the hash being the SHA-256 (as `hashCanonical`
 * computes it) of the canonical JSON of `[sql, params, tables]` (so one SQL text declared with different
 * tables never shares an entry).
 */
export function entryKey(tables: readonly string[], sql: string, params: unknown): string {
  const identity = [sql, params ?? null, tables];
  // For the usual positional parameters (strings, numbers, booleans, null) JSON.stringify gives exactly
  // the canonical JSON, without its per-value walk; anything else goes through canonicalJson.
  const text = isFlatList(params) ? JSON.stringify(identity) : canonicalJson(identity);
  return prefixOf(tables[0] as string) + hash('sha256', text, 'hex').slice(0, HASH_LENGTH);
}

function isFlatList(params: unknown): boolean {
  if (params === undefined || params === null) return true;
  if (!Array.isArray(params)) return false;
  for (const item of params) {
    const type = typeof item;
    if (item !== null && type !== 'string' && type !== 'number' && type !== 'boolean') return false;
  }
  return true;
}

/** Builds an entry: the generations the loader started under, then the serialized result. */
export function buildEntry(generations: readonly string[], payload: string): string {
  return generations.join('') + payload;
}

/** True when an entry was written under exactly these generations (its leading tokens equal them). */
export function entryIsCurrent(entry: Buffer, generations: readonly string[]): boolean {
  if (entry.length <= generations.length * TOKEN_LENGTH) return false;
  for (let i = 0; i < generations.length; i++) {
    if (entry.toString('latin1', i * TOKEN_LENGTH, (i + 1) * TOKEN_LENGTH) !== generations[i]) return false;
  }
  return true;
}

/** Where the serialized result starts inside an entry of `tableCount` tables. */
export function payloadOffset(tableCount: number): number {
  return tableCount * TOKEN_LENGTH;
}
