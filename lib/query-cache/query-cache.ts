// The query cache itself: get (hit, miss, shared in-flight loads), write and invalidate.
import { messageOf } from '../common/errors';
import { emitEvent, hasEventListeners } from '../common/events';
import { Flights } from '../common/flights';
import { debugFor, warn } from '../common/log';
import { redisFailureReason, type SkipReason } from '../common/reasons';
import { buildEntry, generationKey, generationsOf, payloadOffset } from './entry';
import { QueryInvalidationError } from './errors';
import { Invalidator } from './invalidation';
import type { QueryCacheConfig } from './options';
import { type NormalizedQuery, normalizeQuery, normalizeTables, type Query, type TableList } from './query';
import { type ReadState, readerFor } from './reader';
import { refreshScript, storeScript } from './scripts';
import { deserializeAt, serialize, UnserializableError } from './serializer';

const debug = debugFor('query-cache');

/** A load in progress, shared by identical gets that see the same generations and epochs. */
interface InFlight {
  promise: Promise<unknown>;
  generations: string[] | undefined;
  epochs: number[];
}

/** The object {@link queryCache} returns. */
export interface QueryCache {
  /**
   * The cached result of a query, or the loader's (which is then cached). Never rejects because of
   * Redis: when Redis fails the loader runs and nothing is stored. Rejects with the loader's error.
   */
  get<T>(query: Query, loader: () => T | Promise<T>): Promise<T>;
  /**
   * Makes every cached query that read one of these tables a miss, on every instance, in one Redis
   * command per table. Rejects with `QueryInvalidationError` (code `E_QUERY_INVALIDATION`) when Redis
   * could not be reached; this process then bypasses the cache for those tables and retries.
   */
  invalidate(tables: TableList): Promise<void>;
  /**
   * Runs a write, then invalidates the tables once it has succeeded. Resolves to the write's result;
   * rejects with the write's error (and invalidates nothing) when it fails. An invalidation that cannot
   * reach Redis does not reject: it is logged and retried as with `invalidate()`.
   */
  write<T>(tables: TableList, run: () => T | Promise<T>): Promise<T>;
  /** Tables whose invalidation could not reach Redis yet (cache bypassed for them in this process). */
  pendingInvalidations(): string[];
  /** The TTL in ms a query over these tables gets (the shortest of the tables' TTLs). */
  ttlOf(tables: TableList): number;
  /** Stops background retries and the invalidation subscription. Never closes the Redis client. */
  close(): Promise<void>;
}

/** Builds the query cache over a parsed config. */
export function createQueryCache(config: QueryCacheConfig): QueryCache {
  const { backend, maxEntryBytes, generationTtlMs } = config;
  const invalidator = new Invalidator(backend, generationTtlMs);
  invalidator.listen();
  const inFlight = new Flights<InFlight>();

  const ttlOf = (tables: readonly string[]): number =>
    Math.min(...tables.map((table) => config.tableTtls.get(table) ?? config.defaultTtlMs));

  const readState = readerFor(backend, generationTtlMs);

  function epochsOf(tables: readonly string[]): number[] {
    return tables.map((table) => invalidator.epoch(table));
  }

  async function get<T>(query: Query, loader: () => T | Promise<T>): Promise<T> {
    if (typeof loader !== 'function') throw new TypeError('loader must be a function that returns the query result');
    const normalized = normalizeQuery(query);
    const { tables, key } = normalized;
    let state: ReadState | undefined;
    if (!invalidator.anyPending(tables)) {
      try {
        state = await readState(key, tables);
      } catch (error) {
        debug('bypass %s: %s', key, messageOf(error));
      }
    }
    // Checked again after the read: an invalidation may have failed while it was in flight.
    if (state === undefined || invalidator.anyPending(tables)) {
      const reason =
        state === undefined && !invalidator.anyPending(tables) ? 'redis-unavailable' : 'invalidation-pending';
      emitEvent({ kind: 'cache', cache: 'db', outcome: 'bypass', reason });
      return load(normalized, loader, undefined) as Promise<T>;
    }
    let generations = state.generations;
    if (state.entry !== undefined) {
      try {
        const value = deserializeAt(state.entry, payloadOffset(tables.length)) as T;
        if (hasEventListeners()) emitEvent({ kind: 'cache', cache: 'db', outcome: 'hit' });
        return value;
      } catch (error) {
        warn('W_QUERY_CACHE_CORRUPT', `unreadable entry ${key} treated as a miss: ${messageOf(error)}`);
        generations = generationsOf(state.entry, tables.length);
      }
    }
    emitEvent({ kind: 'cache', cache: 'db', outcome: 'miss' });
    return load(normalized, loader, generations) as Promise<T>;
  }

  /** Runs the loader, or joins an identical load that started under the same generations and epochs. */
  function load(query: NormalizedQuery, loader: () => unknown, generations: string[] | undefined): Promise<unknown> {
    const epochs = epochsOf(query.tables);
    const running = inFlight.get(query.key);
    if (
      running &&
      sameList(running.epochs, epochs) &&
      (generations === undefined || running.generations === undefined || sameList(running.generations, generations))
    ) {
      return running.promise;
    }
    const flight: InFlight = { promise: Promise.resolve(), generations, epochs };
    const end = inFlight.start(query.key, flight);
    flight.promise = (async () => {
      try {
        const value = await loader();
        if (generations !== undefined) await store(query, value, generations, epochs);
        return value;
      } finally {
        end();
      }
    })();
    return flight.promise;
  }

  /** Stores a loaded result unless an invalidation happened since the load started. Never throws. */
  async function store(query: NormalizedQuery, value: unknown, generations: string[], epochs: number[]) {
    const { tables, key } = query;
    const skip = (reason: SkipReason, detail?: string) => {
      debug('not stored %s: %s', key, detail === undefined ? reason : `${reason} (${detail})`);
      emitEvent({ kind: 'cache', cache: 'db', outcome: 'skip', reason, ...(detail === undefined ? {} : { detail }) });
    };
    if (tables.some((table) => invalidator.isPending(table)) || !sameList(epochs, epochsOf(tables))) {
      return skip('invalidated');
    }
    let payload: string;
    try {
      payload = serialize(value);
    } catch (error) {
      if (error instanceof UnserializableError) return skip('unserializable', error.message);
      throw error;
    }
    const entry = buildEntry(generations, payload);
    const bytes = Buffer.byteLength(entry);
    if (bytes > maxEntryBytes) return skip('too-large');
    try {
      const [stored] = await Promise.all([
        backend.run(
          storeScript,
          [key, generationKey(tables[0] as string)],
          [generations[0] as string, entry, ttlOf(tables), generationTtlMs],
        ),
        // The other tables' generations live in other slots: each is refreshed on its own.
        ...tables.slice(1).map((table) =>
          backend.run(refreshScript, [generationKey(table)], [generationTtlMs]).catch((error: unknown) => {
            debug('could not refresh the generation of %s: %s', table, messageOf(error));
          }),
        ),
      ]);
      if (stored !== 1) return skip('invalidated');
      emitEvent({ kind: 'cache', cache: 'db', outcome: 'store', rawBytes: bytes, storedBytes: bytes });
    } catch (error) {
      skip(redisFailureReason(error), messageOf(error));
    }
  }

  async function invalidate(tables: TableList): Promise<void> {
    const list = normalizeTables(tables, 'invalidate()');
    const { failed, error } = await invalidator.invalidate(list);
    if (failed.length > 0) throw new QueryInvalidationError(failed, error);
    debug('invalidated %o', list);
  }

  async function write<T>(tables: TableList, run: () => T | Promise<T>): Promise<T> {
    const list = normalizeTables(tables, 'write()');
    if (typeof run !== 'function') throw new TypeError('write() takes the tables and a function that runs the write');
    const result = await run();
    // Not rejected: the write happened. The invalidator logs the outage (one line) and retries.
    await invalidate(list).catch((error: unknown) => {
      debug('write to %o: %s', list, messageOf(error));
    });
    return result;
  }

  return {
    get,
    invalidate,
    write,
    pendingInvalidations: () => invalidator.pending(),
    ttlOf: (tables) => ttlOf(normalizeTables(tables, 'ttlOf()')),
    close: () => invalidator.close(),
  };
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
