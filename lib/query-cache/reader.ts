// Reads an entry and the current generations of its tables: one MGET on Redis (both keys share the table's slot).

import { RedisUnavailableError } from '../common/errors';
import { emitEvent, hasEventListeners } from '../common/events';
import { type Backend, healthOf, RedisBackend, withDeadline } from '../redis';
import { generationKey, newToken, TOKEN_LENGTH } from './entry';
import { generationScript, readScript } from './scripts';

/** What a read found: the entry when it is current for the first table, and every table's generation. */
export interface ReadState {
  entry: string | undefined;
  generations: string[];
}

/** Reads the state of a query; rejects when Redis fails. */
export type Reader = (key: string, tables: readonly string[]) => Promise<ReadState>;

/**
 * The reader for a backend. On Redis, the hit path is plain reads (an MGET of the entry and its
 * table's generation, plus a GET per other table, all sent in one tick): cheaper than a script, and
 * safe because generations only ever change to new tokens. A generation that does not exist yet is
 * created by a script (first use of a table, or after eviction). In memory, the scripts' twins do it all.
 */
export function readerFor(backend: Backend): Reader {
  /**
   * Creates a missing generation atomically (SET if absent), or reads the one another instance created.
   * Every attempt offers a new token: an attempt whose reply was lost may still have set its token, so
   * offering it again later could bring back entries stored under it.
   */
  const ensure = (table: string): Promise<string> =>
    backend.run(generationScript, [generationKey(table)], [newToken()]);

  if (!(backend instanceof RedisBackend)) {
    return async (key, tables) => {
      const [first, ...rest] = tables as [string, ...string[]];
      const [reply, ...others] = await Promise.all([
        backend.run(readScript, [key, generationKey(first)], [newToken()]),
        ...rest.map(ensure),
      ]);
      const entry = typeof reply === 'string' ? reply : undefined;
      const generations = [entry ? entry.slice(0, TOKEN_LENGTH) : String(reply[0]), ...others];
      return { entry, generations };
    };
  }

  const { client, timeoutMs } = backend;
  const health = healthOf(client);
  /** One bounded call: fails fast while the breaker is open, records the outcome (as RedisBackend does). */
  const bounded = <T>(operation: string, key: string, send: () => Promise<T>): Promise<T> => {
    if (health.isDown()) {
      return Promise.reject(
        new RedisUnavailableError(operation, 'Redis is unavailable (recent timeout or reconnecting)', key),
      );
    }
    const started = hasEventListeners() ? performance.now() : 0;
    return withDeadline(send(), timeoutMs, operation, key).then(
      (result) => {
        health.record(undefined);
        if (started) emitEvent({ kind: 'redis', operation, durationMs: performance.now() - started });
        return result;
      },
      (error: unknown) => {
        health.record(error);
        if (started) {
          emitEvent({ kind: 'redis', operation, durationMs: performance.now() - started, error: String(error) });
        }
        throw error;
      },
    );
  };

  const readFirst = async (key: string, table: string): Promise<[string | null, string]> => {
    const genKey = generationKey(table);
    const [entry, gen] = await bounded('MGET', key, () => client.mget(key, genKey));
    return [entry ?? null, gen ?? (await ensure(table))];
  };
  const readOther = async (table: string): Promise<string> => {
    const genKey = generationKey(table);
    return (await bounded('GET', genKey, () => client.get(genKey))) ?? ensure(table);
  };

  return async (key, tables) => {
    let entry: string | null;
    let generations: string[];
    if (tables.length === 1) {
      const genKey = generationKey(tables[0] as string);
      const [found, gen] = await bounded('MGET', key, () => client.mget(key, genKey));
      entry = found ?? null;
      generations = [gen ?? (await ensure(tables[0] as string))];
    } else {
      const [first, ...rest] = tables as [string, ...string[]];
      const [[found, gen], ...others] = await Promise.all([readFirst(key, first), ...rest.map(readOther)]);
      entry = found;
      generations = [gen, ...others];
    }
    const current = entry?.startsWith(generations[0] as string) === true;
    return { entry: current ? (entry as string) : undefined, generations };
  };
}
