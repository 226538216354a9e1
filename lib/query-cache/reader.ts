// Reads an entry and the current generations of its tables through the Backend: one MGET for the entry's own table.
import type { Backend } from '../redis';
import { entryIsCurrent, generationKey, newToken } from './entry';
import { generationScript } from './scripts';

/**
 * What a read found: the entry when it was written under the current generation of every table of the
 * query (a hit), else those generations (a miss: the load records them in the entry it stores).
 */
export type ReadState = { entry: Buffer; generations?: undefined } | { entry?: undefined; generations: string[] };

/** Reads the state of a query; rejects (with the backend's coded error) when the backend fails. */
export type Reader = (key: string, tables: readonly string[]) => Promise<ReadState>;

/**
 * The reader for a backend (Redis or memory alike). The entry and its first table's generation share
 * that table's hash tag, so one MGET reads both: a single-table hit is one round trip. Each other table's
 * generation is one GET, sent in the same tick. Plain reads are safe because a generation only ever
 * changes to a new token. A generation that does not exist (first use of a table, eviction, expiry, a
 * failover that lost it, expiry) is created by a script, SET if absent with `generationTtlMs`, with a
 * token never offered before. Reads never refresh a generation's TTL (that would make a hit a write):
 * storing an entry does.
 */
export function readerFor(backend: Backend, generationTtlMs: number): Reader {
  /**
   * Creates a missing generation atomically, or reads the one another instance created meanwhile.
   * Every attempt offers a new token: an attempt whose reply was lost may still have set its token, so
   * offering it again later could bring back entries stored under it.
   */
  const create = async (table: string): Promise<Buffer> =>
    Buffer.from(await backend.run(generationScript, [generationKey(table)], [newToken(), generationTtlMs]), 'latin1');

  const generationOf = async (table: string): Promise<Buffer> =>
    (await backend.get(generationKey(table))) ?? create(table);

  /** The entry and the first table's generation (created when missing, which makes the entry a miss). */
  const readFirst = async (key: string, table: string): Promise<[Buffer | null, Buffer]> => {
    const [entry, gen] = await backend.mget(key, generationKey(table));
    return gen ? [entry ?? null, gen] : [null, await create(table)];
  };

  /** A single-table query: the hit path, one MGET and nothing else. */
  const readOne = async (key: string, table: string): Promise<ReadState> => {
    const [entry, gen] = await backend.mget(key, generationKey(table));
    if (!gen) return { generations: [(await create(table)).toString('latin1')] };
    if (entry && entryIsCurrent(entry, [gen])) return { entry };
    return { generations: [gen.toString('latin1')] };
  };

  const readMany = async (key: string, tables: readonly string[]): Promise<ReadState> => {
    const [[entry, gen], ...others] = await Promise.all([
      readFirst(key, tables[0] as string),
      ...tables.slice(1).map(generationOf),
    ]);
    const generations = [gen, ...others];
    if (entry !== null && entryIsCurrent(entry, generations)) return { entry };
    return { generations: generations.map((token) => token.toString('latin1')) };
  };

  return (key, tables) => (tables.length === 1 ? readOne(key, tables[0] as string) : readMany(key, tables));
}
