// aiCache's options: the public type with its defaults, and the parse that turns it into a config once.
import { type Duration, describe, parseDuration } from '../common/duration';
import {
  assertKnownOptions,
  assertOptionsObject,
  type OptionDefaults,
  parseBoolean,
  parseChoice,
  parseFunction,
  parseInteger,
} from '../common/validate';
import { type Backend, type RedisConnectionOptions, redisConnectionDefaults, resolveBackend } from '../redis';
import type { Codec } from './entry';
import { keyMaterialOmitting } from './keying';
import type { AiCallControls, WarmOptions } from './types';

/** What the cached function receives and returns: `A` its parameters, `V` the value `shouldCache` sees. */
export interface AiCacheOptions<A extends unknown[] = unknown[], V = unknown> extends RedisConnectionOptions {
  /**
   * The model name, first part of the key `ai:<model>:<hash>`; or a function of the call's arguments
   * (e.g. `(input, options) => options?.model ?? 'chef-1'`). Required.
   */
  model: string | ((...args: A) => string);
  /** How long an entry lives. @default '1h' */
  ttl?: Duration;
  /**
   * What identifies an answer. By default every argument (input and options, canonical JSON, so field
   * order does not matter). A function returns the material to hash instead; `{ omit: ['requestId',
   * 'metadata.traceId'] }` drops those (dot) paths from every object argument.
   * @default every argument
   */
  key?: ((...args: A) => unknown) | { omit: string[] };
  /**
   * Keeps entries of one tenant or user apart: a string, or a function of the arguments. Part of the hash.
   * @default none (entries are shared by everyone who asks the same thing)
   */
  namespace?: string | ((...args: A) => string | undefined);
  /** Bump to retire every entry written before (e.g. after changing a prompt template). Part of the hash. @default none */
  version?: string | number;
  /**
   * Whether a result is stored. Streams are judged on their complete list of chunks.
   * @default () => true
   */
  shouldCache?: (result: V) => boolean;
  /** Remember a failure this long, answering with `CachedFailureError` without calling again. `0` turns it off. @default 0 */
  negativeTtl?: Duration;
  /** Which failures `negativeTtl` remembers. @default every failure */
  cacheFailure?: (error: Error) => boolean;
  /** Codec for entries of at least `compressAbove` bytes. @default 'brotli' */
  compression?: Codec;
  /** Raw size in bytes from which entries are compressed. @default 1024 */
  compressAbove?: number;
  /** Largest raw (uncompressed) entry in bytes that is stored or read back; larger results are served but not stored. @default 4194304 (4 MiB) */
  maxSize?: number;
  /**
   * Bytes of memory for compressed string entries this process decoded recently. A hit always reads
   * Redis; when Redis returns the very bytes decoded before, the decompression is skipped. `0` turns it off.
   * @default 8388608 (8 MiB)
   */
  decodedCacheBytes?: number;
  /** Share one inference between processes with a Redis lock. @default true */
  lock?: boolean;
  /**
   * Lifetime of that lock; it is renewed while the inference runs, so this bounds how long a crashed holder
   * blocks others. Also how long a streamed result may go unread (no consumer asking for a chunk) before
   * its recording is given up and its source closed.
   * @default '10s'
   */
  lockTtl?: Duration;
  /**
   * Longest a caller waits for another process's inference before running its own (and how long a holder
   * keeps renewing its lock). Sized for a web request: a waiter that gives up still has to run its own
   * inference, and 30 s plus one inference stays under the common 60 s proxy timeout. Waits on a holder
   * that crashed end after `lockTtl`, and this process never waits on a lock it left behind itself.
   * @default '30s'
   */
  lockWait?: Duration;
}

/** Everything parsed, with defaults applied. */
export interface AiCacheConfig<A extends unknown[]> {
  backend: Backend;
  modelOf: (args: A) => string;
  ttlMs: number;
  keyMaterial: (args: A) => unknown;
  namespaceOf: (args: A) => string | undefined;
  version: string | number | undefined;
  shouldCache: (result: unknown) => boolean;
  negativeTtlMs: number;
  cacheFailure: (error: Error) => boolean;
  codec: Codec;
  compressAbove: number;
  maxSize: number;
  decodedCacheBytes: number;
  lock: boolean;
  lockTtlMs: number;
  lockWaitMs: number;
  /** How often a waiter looks again when no notification came. */
  pollMs: number;
}

/** Every option of `aiCache()` with its default (`undefined`: none). */
export const aiCacheDefaults = {
  ...redisConnectionDefaults,
  model: undefined,
  ttl: '1h',
  key: undefined,
  namespace: undefined,
  version: undefined,
  shouldCache: () => true,
  negativeTtl: 0,
  cacheFailure: () => true,
  compression: 'brotli',
  compressAbove: 1024,
  maxSize: 4 * 1024 * 1024,
  decodedCacheBytes: 8 * 1024 * 1024,
  lock: true,
  lockTtl: '10s',
  lockWait: '30s',
} as const satisfies OptionDefaults<AiCacheOptions>;

/** Every control of `cached.with()` with its default (`undefined`: the option of the same name). */
export const aiCallControlsDefaults = {
  bypass: false,
  refresh: false,
  ttl: undefined,
  namespace: undefined,
} as const satisfies OptionDefaults<AiCallControls>;

/** Every option of `cached.warm()` with its default. */
export const warmDefaults = {
  concurrency: 4,
  refresh: false,
} as const satisfies OptionDefaults<WarmOptions>;

/** The one field of the `key: { omit }` form. */
export const aiCacheKeyOmitDefaults = { omit: undefined } as const satisfies OptionDefaults<{ omit: string[] }>;

/** Validates options once; every problem is a TypeError naming the option. */
export function parseOptions<A extends unknown[]>(options: unknown): AiCacheConfig<A> {
  assertOptionsObject(options, 'aiCache');
  assertKnownOptions(options, aiCacheDefaults);
  const o = options as unknown as AiCacheOptions<A>;
  const model = o.model;
  let modelOf: (args: A) => string;
  if (typeof model === 'string' && model.trim() !== '') modelOf = () => model;
  else if (typeof model === 'function') {
    modelOf = (args) => {
      const name: unknown = model(...args);
      if (typeof name !== 'string' || name === '') {
        throw new TypeError(`model option function must return a non-empty string; returned ${describe(name)}`);
      }
      return name;
    };
  } else {
    throw new TypeError(
      `model option must be a non-empty string or a function of the arguments returning one; received ${describe(model)}`,
    );
  }
  const lockTtlMs = parseDuration(o.lockTtl ?? aiCacheDefaults.lockTtl, 'lockTtl', { minMs: 100 });
  return {
    backend: resolveBackend(o, 'ai-cache'),
    modelOf,
    ttlMs: parseDuration(o.ttl ?? aiCacheDefaults.ttl, 'ttl'),
    keyMaterial: parseKey<A>(o.key),
    namespaceOf: parseNamespace<A>(o.namespace),
    version: parseVersion(o.version),
    shouldCache: parseFunction<(result: unknown) => boolean>(o.shouldCache, 'shouldCache', aiCacheDefaults.shouldCache),
    negativeTtlMs: parseDuration(o.negativeTtl ?? aiCacheDefaults.negativeTtl, 'negativeTtl', { minMs: 0 }),
    cacheFailure: parseFunction<(error: Error) => boolean>(
      o.cacheFailure,
      'cacheFailure',
      aiCacheDefaults.cacheFailure,
    ),
    codec: parseChoice(o.compression, 'compression', ['brotli', 'gzip', 'none'] as const, aiCacheDefaults.compression),
    compressAbove: parseInteger(o.compressAbove, 'compressAbove', aiCacheDefaults.compressAbove, 0),
    maxSize: parseInteger(o.maxSize, 'maxSize', aiCacheDefaults.maxSize, 1),
    decodedCacheBytes: parseInteger(o.decodedCacheBytes, 'decodedCacheBytes', aiCacheDefaults.decodedCacheBytes, 0),
    lock: parseBoolean(o.lock, 'lock', aiCacheDefaults.lock),
    lockTtlMs,
    lockWaitMs: parseDuration(o.lockWait ?? aiCacheDefaults.lockWait, 'lockWait', { minMs: 0 }),
    pollMs: Math.min(500, Math.max(25, Math.floor(lockTtlMs / 4))),
  };
}

function parseKey<A extends unknown[]>(key: AiCacheOptions<A>['key'] | unknown): (args: A) => unknown {
  if (key === undefined) return (args) => args;
  if (typeof key === 'function') return (args) => (key as (...args: A) => unknown)(...args);
  if (key !== null && typeof key === 'object' && !Array.isArray(key))
    assertKnownOptions(key, aiCacheKeyOmitDefaults, 'key.');
  const omit = (key as { omit?: unknown } | null)?.omit;
  if (
    key !== null &&
    typeof key === 'object' &&
    Array.isArray(omit) &&
    omit.every((path) => typeof path === 'string' && path !== '')
  ) {
    return keyMaterialOmitting(omit as string[]);
  }
  throw new TypeError(
    `key option must be a function of the arguments returning what identifies the answer, or { omit: ['field', 'nested.field'] }; received ${describe(key)}`,
  );
}

function parseNamespace<A extends unknown[]>(
  namespace: AiCacheOptions<A>['namespace'] | unknown,
): (args: A) => string | undefined {
  if (namespace === undefined) return () => undefined;
  if (typeof namespace === 'string' && namespace !== '') return () => namespace;
  if (typeof namespace === 'function') return (args) => (namespace as (...args: A) => string | undefined)(...args);
  throw new TypeError(
    `namespace option must be a non-empty string or a function of the arguments returning one; received ${describe(namespace)}`,
  );
}

function parseVersion(version: unknown): string | number | undefined {
  if (
    version === undefined ||
    typeof version === 'string' ||
    (typeof version === 'number' && Number.isFinite(version))
  ) {
    return version;
  }
  throw new TypeError(`version option must be a string or a number; received ${describe(version)}`);
}
