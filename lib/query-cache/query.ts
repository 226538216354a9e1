// The shape of a query handed to get(), checked on every call (it is per-call input, not an option).
import { describe } from '../common/duration';
import { entryKey } from './entry';

/** One table name or a list of them. */
export type TableList = string | readonly string[];

/** What `get()` caches: the SQL, its parameters, and every table the query reads. */
export interface Query {
  /**
   * Every table the query reads. The entry is stored under the first (`db:{<first>}:<hash>`); an
   * invalidation of any of them makes it a miss.
   */
  tables: TableList;
  /** The SQL text (or any string that identifies the query). */
  sql: string;
  /** The query's parameters: an array or an object of named parameters. @default undefined */
  params?: unknown;
}

/** A query with its tables as a list and its key computed. */
export interface NormalizedQuery {
  tables: readonly string[];
  key: string;
}

/** Checks a table list. @throws TypeError naming the call. */
export function normalizeTables(tables: unknown, call: string): readonly string[] {
  const list = typeof tables === 'string' ? [tables] : tables;
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === 'string' && t !== '')) {
    throw new TypeError(
      `${call} tables must be a table name or a non-empty list of table names; received ${describe(tables)}`,
    );
  }
  return list as readonly string[];
}

/** Checks a query and computes its key. @throws TypeError saying what is wrong. */
export function normalizeQuery(query: Query): NormalizedQuery {
  if (query === null || typeof query !== 'object') {
    throw new TypeError(`get() takes a query object { tables, sql, params }; received ${describe(query)}`);
  }
  const tables = normalizeTables(query.tables, 'get()');
  if (typeof query.sql !== 'string' || query.sql === '') {
    throw new TypeError(`get() query sql must be a non-empty string; received ${describe(query.sql)}`);
  }
  return { tables, key: entryKey(tables, query.sql, query.params) };
}
