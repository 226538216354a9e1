// aiCache(): wraps an async inference function so each distinct question is paid for once, across processes.
import { type Duration, describe, parseDuration } from '../common/duration';
import { toError } from '../common/errors';
import { assertKnownOptions, assertOptionsObject, parseBoolean, parseInteger } from '../common/validate';
import { AiCacheCore, NO_CONTROLS, type ParsedControls } from './core';
import { type AiCacheOptions, aiCallControlsDefaults, parseOptions, warmDefaults } from './options';
import { isAsyncIterable } from './stream-recorder';
import type {
  AiCallControls,
  AiFunction,
  CachedAiFunction,
  CachedReturn,
  Settled,
  WarmOptions,
  WarmReport,
} from './types';

export type { Codec } from './entry';
export { AiCacheValueError, AiStreamIdleError, aiCacheErrors, CachedFailureError } from './errors';
export type { AiCacheOptions } from './options';
export type { AiCallControls, AiFunction, CachedAiFunction, CachedReturn, Settled, WarmOptions, WarmReport };

/**
 * Wraps `fn` so identical calls share one answer, stored in Redis under `ai:<model>:<hash>`.
 *
 * @example
 * const suggest = aiCache({ redis, model: 'chef-1', ttl: '1h' }, async (input: { ingredients: string[] }) =>
 *   callModel(input));
 * await suggest({ ingredients: ['egg', 'rice'] }); // runs the model once, then answers from Redis
 */
export function aiCache<F extends AiFunction>(
  options: AiCacheOptions<Parameters<F>, Settled<F>>,
  fn: F,
): CachedAiFunction<F> {
  const config = parseOptions<Parameters<F>>(options);
  if (typeof fn !== 'function') {
    throw new TypeError(`aiCache() takes the function to cache as its second argument; received ${describe(fn)}`);
  }
  const core = new AiCacheCore<Parameters<F>>(config, fn as unknown as (...args: Parameters<F>) => unknown);
  type Call = (...args: Parameters<F>) => CachedReturn<ReturnType<F>>;
  const bind = (controls: ParsedControls): Call =>
    ((...args: Parameters<F>) => streamable(core.call(args, controls))) as Call;

  const cached = bind(NO_CONTROLS) as CachedAiFunction<F>;
  cached.with = (controls: AiCallControls) => bind(parseControls(controls));
  cached.keyFor = (...args: Parameters<F>) => core.keyFor(args);
  cached.invalidate = (...args: Parameters<F>) => core.invalidate(core.keyFor(args));
  cached.warm = (calls: ReadonlyArray<Parameters<F>>, warmOptions: WarmOptions = {}) => warm(core, calls, warmOptions);
  return cached;
}

function parseControls(controls: AiCallControls): ParsedControls {
  if (controls === null || typeof controls !== 'object') {
    throw new TypeError(`with() takes an object such as { refresh: true }; received ${describe(controls)}`);
  }
  assertKnownOptions(controls, aiCallControlsDefaults, 'with() ');
  const namespace = controls.namespace;
  if (namespace !== undefined && (typeof namespace !== 'string' || namespace === '')) {
    throw new TypeError(`namespace control must be a non-empty string; received ${describe(namespace)}`);
  }
  return {
    bypass: parseBoolean(controls.bypass, 'bypass', aiCallControlsDefaults.bypass),
    refresh: parseBoolean(controls.refresh, 'refresh', aiCallControlsDefaults.refresh),
    ttlMs: controls.ttl === undefined ? undefined : parseDuration(controls.ttl as Duration, 'ttl'),
    namespace,
  };
}

/**
 * The caller's promise, also iterable: a wrapped function that returns a stream synchronously (an
 * `async function*`) is used with `for await (const chunk of suggest(input))`.
 */
function streamable(promise: Promise<unknown>): Promise<unknown> & AsyncIterable<unknown> {
  const result = promise as Promise<unknown> & AsyncIterable<unknown>;
  result[Symbol.asyncIterator] = () => {
    let inner: AsyncIterator<unknown> | undefined;
    const open = async (): Promise<AsyncIterator<unknown>> => {
      if (inner) return inner;
      const value = await promise;
      if (!isAsyncIterable(value)) {
        throw new TypeError('this call returned a value, not a stream: await it instead of iterating it');
      }
      inner = value[Symbol.asyncIterator]();
      return inner;
    };
    return {
      next: async () => (await open()).next(),
      return: async () => {
        const it = inner ?? (await promise.then(() => open()).catch(() => undefined));
        return (await it?.return?.()) ?? { done: true, value: undefined };
      },
    };
  };
  return result;
}

async function warm<A extends unknown[]>(
  core: AiCacheCore<A>,
  calls: ReadonlyArray<A>,
  options: WarmOptions,
): Promise<WarmReport> {
  if (!Array.isArray(calls)) {
    throw new TypeError(
      `warm() takes a list of argument lists, e.g. [[input1], [input2, options]]; received ${describe(calls)}`,
    );
  }
  assertOptionsObject(options, 'warm');
  assertKnownOptions(options, warmDefaults, 'warm() ');
  const concurrency = parseInteger(options.concurrency, 'concurrency', warmDefaults.concurrency, 1);
  const refresh = parseBoolean(options.refresh, 'refresh', warmDefaults.refresh);
  const controls: ParsedControls = { ...NO_CONTROLS, refresh };
  const report: WarmReport = { cached: 0, computed: 0, failed: 0, errors: [] };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < calls.length) {
      const args = calls[next++] as A;
      try {
        if (!Array.isArray(args)) throw new TypeError(`warm() item ${next - 1} must be an argument list (an array)`);
        const { resolved, joined } = await core.resolve(core.keyFor(args, undefined), args, controls);
        if (resolved.outcome.kind === 'stream') {
          // Drain the stream so it completes and is stored.
          for await (const _chunk of resolved.outcome.recorder.subscribe()) {
            // nothing: recording is the point
          }
        }
        if (resolved.outcome.kind === 'failure') throw new Error(resolved.outcome.failure.message);
        if (resolved.from === 'cache' || joined) report.cached++;
        else report.computed++;
      } catch (error) {
        report.failed++;
        report.errors.push(toError(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls.length) }, worker));
  return report;
}
