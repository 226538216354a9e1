// Keys, generation tokens and the stored entry layout: `<generation of each table><payload>`.
import { hash, randomBytes } from 'node:crypto';
import { Memo } from '../common/memo';
import { canonicalJson, dbKey, HASH_LENGTH } from '../redis';

/** Length of a generation token: 12 random bytes as base64url (96 bits, never reused in practice). */
export const TOKEN_LENGTH = 16;

/** A new generation token. */
export function newToken(): string {
  return randomBytes(12).toString('base64url');
}

/** A table's generation key: `db:{<table>}:gen`. Query hashes are hex, so they never collide with it. */
export function generationKey(table: string): string {
  return keysOf(table).generation;
}

/**
 * `db:{<encoded table>}:` and the generation key per table, so the hit path neither re-encodes names
 * nor builds the same string again (bounded: forgotten past 1000 tables).
 */
const tableKeys = new Memo<string, { prefix: string; generation: string }>(1000);

function keysOf(table: string): { prefix: string; generation: string } {
  let keys = tableKeys.get(table);
  if (keys === undefined) {
    const prefix = dbKey(table, '');
    keys = { prefix, generation: `${prefix}gen` };
    tableKeys.set(table, keys);
  }
  return keys;
}

function prefixOf(table: string): string {
  return keysOf(table).prefix;
}

/**
 * The entry key of a query: `db:{<first table>}:<hash>`, the hash being the SHA-256 (as `hashCanonical`
 * computes it) of the canonical JSON of `[sql, params, tables]` (so one SQL text declared with different
 * tables never shares an entry). Recently seen queries skip the hashing and the SQL's JSON encoding.
 */
export function entryKey(tables: readonly string[], sql: string, params: unknown): string {
  // `[params, tables]` as canonical JSON. For the usual positional parameters (strings, numbers,
  // booleans, null) JSON.stringify gives exactly that, without canonicalJson's per-value walk.
  const rest = isFlatList(params) ? JSON.stringify([params ?? null, tables]) : canonicalJson([params ?? null, tables]);
  const bySql = recentKeys.get(sql);
  const known = bySql?.get(rest);
  if (known !== undefined) return known;
  // The canonical JSON of `[sql, params, tables]` is the SQL's JSON spliced into `[params, tables]`.
  const text = `[${JSON.stringify(sql)},${rest.slice(1)}`;
  const key = prefixOf(tables[0] as string) + hash('sha256', text, 'hex').slice(0, HASH_LENGTH);
  remember(bySql, sql, rest, key);
  return key;
}

/**
 * Keys of recently seen queries, by SQL text then by `[params, tables]` JSON. Bounded: at most
 * {@link RECENT_KEYS} keys (all forgotten at once past that), long texts never kept.
 */
const recentKeys = new Map<string, Map<string, string>>();
const RECENT_KEYS = 512;
const MAX_SQL_CHARS = 2048;
const MAX_REST_CHARS = 256;
let recentCount = 0;

function remember(bySql: Map<string, string> | undefined, sql: string, rest: string, key: string): void {
  if (sql.length > MAX_SQL_CHARS || rest.length > MAX_REST_CHARS) return;
  if (recentCount >= RECENT_KEYS) {
    recentKeys.clear();
    recentCount = 0;
    bySql = undefined;
  }
  if (bySql === undefined) {
    bySql = new Map();
    recentKeys.set(sql, bySql);
  }
  bySql.set(rest, key);
  recentCount++;
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
export function entryIsCurrent(entry: Buffer, generations: readonly Buffer[]): boolean {
  if (entry.length <= generations.length * TOKEN_LENGTH) return false;
  for (let i = 0; i < generations.length; i++) {
    const gen = generations[i] as Buffer;
    if (gen.length !== TOKEN_LENGTH) return false;
    // Compared byte by byte: cheaper than a string or a Buffer view per token on the hit path.
    for (let at = i * TOKEN_LENGTH, j = 0; j < TOKEN_LENGTH; at++, j++) if (entry[at] !== gen[j]) return false;
  }
  return true;
}

/** The generations a current entry was written under (they are the tables' current generations). */
export function generationsOf(entry: Buffer, tableCount: number): string[] {
  return Array.from({ length: tableCount }, (_, i) =>
    entry.toString('latin1', i * TOKEN_LENGTH, (i + 1) * TOKEN_LENGTH),
  );
}

/** Where the serialized result starts inside an entry of `tableCount` tables. */
export function payloadOffset(tableCount: number): number {
  return tableCount * TOKEN_LENGTH;
}
