// A Lua script paired with its in-process twin, so Redis and the memory backend behave the same.
import type { MemoryStore } from './memory-store';

/** A value a script returns: what Redis replies with (integers, bulk strings, nil, arrays of those). */
export type ScriptReply = number | string | Buffer | null | ScriptReply[];

/**
 * One atomic operation, written twice: as Lua for Redis and as a synchronous function for the memory
 * backend. Every key the script touches is passed in `keys` and shares one hash tag (Cluster).
 */
export interface ScriptDefinition<R extends ScriptReply = ScriptReply> {
  /** Unique name (prefix with the concern), used in logs and events; the script runs by EVALSHA. */
  readonly name: string;
  /** The Lua source. It may read the server clock with `redis.call('TIME')`. */
  readonly lua: string;
  /** The same operation on the memory store; `now` is the current time in ms. */
  memory(store: MemoryStore, keys: string[], args: string[], now: number): R;
}

/** The names of every declared script: the closed list of script values of the `operation` metric label. */
export const scriptNames = new Set<string>();

/** Declares a script (checks the shape at compile time and records its name for the metrics). */
export function defineScript<R extends ScriptReply>(definition: ScriptDefinition<R>): ScriptDefinition<R> {
  scriptNames.add(definition.name);
  return definition;
}
