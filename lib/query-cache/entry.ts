// Keys, generation tokens and the stored entry layout: `<generation of each table><payload>`.
import { randomBytes } from 'node:crypto';
import { dbKey, hashCanonical } from '../redis';

/** Length of a generation token: 12 random bytes as base64url (96 bits, never reused in practice). */
export const TOKEN_LENGTH = 16;

/** A new generation token. */
export function newToken(): string {
  return randomBytes(12).toString('base64url');
}

/** Suffix of a table's generation key: `db:{<table>}:gen`. Query hashes are hex, so they never collide with it. */
export function generationKey(table: string): string {
  return dbKey(table, 'gen');
}

/**
 * The entry key of a query: `db:{<first table>}:<hash>`, the hash being the SHA-256 of the canonical
 * JSON of the SQL, its parameters and the list of tables (so one SQL text declared with different
 * tables never shares an entry).
 */
export function entryKey(tables: readonly string[], sql: string, params: unknown): string {
  return dbKey(tables[0] as string, hashCanonical([sql, params ?? null, tables]));
}

/** Builds an entry: the generations the loader started under, then the serialized result. */
export function buildEntry(generations: readonly string[], payload: string): string {
  return generations.join('') + payload;
}

/**
 * True when an entry was written under exactly these generations (the first was already checked by
 * the read script; this checks the rest).
 */
export function entryIsCurrent(entry: string, generations: readonly string[]): boolean {
  for (let i = 1; i < generations.length; i++) {
    if (!entry.startsWith(generations[i] as string, i * TOKEN_LENGTH)) return false;
  }
  return true;
}

/** The serialized result inside an entry of `tableCount` tables. */
export function payloadOf(entry: string, tableCount: number): string {
  return entry.slice(tableCount * TOKEN_LENGTH);
}
