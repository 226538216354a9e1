// The public types of a cached function: same parameters, same result (streams come back as AsyncIterables).
import type { Duration } from '../common/duration';

/** A function aiCache can wrap: it returns a promise (of a value or of a stream) or a stream of chunks. */
export type AiFunction = (...args: never[]) => PromiseLike<unknown> | AsyncIterable<unknown>;

/** A streamed result after caching: the same chunks, as a plain AsyncIterable (live or replayed). */
type Replayed<T> = T extends AsyncIterable<infer C> ? AsyncIterable<C> : T;

/** What the cached function returns for a wrapped function returning `R`. */
export type CachedReturn<R> =
  R extends PromiseLike<infer T> ? Promise<Replayed<T>> : R extends AsyncIterable<infer C> ? AsyncIterable<C> : never;

/** What `shouldCache` is given: the resolved result, or for a stream the complete list of its chunks. */
export type Settled<F extends AiFunction> =
  Awaited<ReturnType<F>> extends infer T ? (T extends AsyncIterable<infer C> ? C[] : T) : never;

/** Controls for some calls, without changing the wrapped signature: `suggest.with({ refresh: true })(input)`. */
export interface AiCallControls {
  /** Neither read nor write the cache; call the function directly (no deduplication either). @default false */
  bypass?: boolean;
  /** Do not read the cache: run the inference (shared with identical calls in flight) and store the new result. @default false */
  refresh?: boolean;
  /** Lifetime of the entry this call stores, instead of the `ttl` option. @default the `ttl` option */
  ttl?: Duration;
  /** Namespace of this call (tenant, user), instead of the `namespace` option. @default the `namespace` option */
  namespace?: string;
}

/** Options of `warm()`. */
export interface WarmOptions {
  /** How many inferences run at once. @default 4 */
  concurrency?: number;
  /** Recompute entries that already exist. @default false */
  refresh?: boolean;
}

/** What `warm()` did. */
export interface WarmReport {
  /** Calls answered by an entry that already existed (or by another caller's inference). */
  cached: number;
  /** Calls that ran the inference. */
  computed: number;
  /** Calls that failed; their errors are in `errors`, in the order of the inputs. */
  failed: number;
  errors: Error[];
}

/** The function `aiCache()` returns, with its helpers. */
export type CachedAiFunction<F extends AiFunction> = ((...args: Parameters<F>) => CachedReturn<ReturnType<F>>) & {
  /** The same function with per-call controls. Parse once and keep it: `const fresh = suggest.with({ refresh: true })`. */
  with(controls: AiCallControls): (...args: Parameters<F>) => CachedReturn<ReturnType<F>>;
  /** Precomputes the entries of these argument lists (each item is one call's arguments), `concurrency` at a time. */
  warm(calls: ReadonlyArray<Parameters<F>>, options?: WarmOptions): Promise<WarmReport>;
  /** The Redis key these arguments map to (`ai:<model>:<hash>`). */
  keyFor(...args: Parameters<F>): string;
  /** Deletes the entry of these arguments; true when one existed. Never throws because of Redis (false then). */
  invalidate(...args: Parameters<F>): Promise<boolean>;
};
