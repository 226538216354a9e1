// Coded errors of aiCache: values it cannot store faithfully, and failures replayed from the negative cache.
import { RedisMiddlewareError } from '../common/errors';

/** A result (or stream chunk) would not survive the round trip through the cache unchanged. */
export class AiCacheValueError extends RedisMiddlewareError {
  static readonly code = 'E_AI_CACHE_VALUE';
  constructor(message: string, key?: string) {
    super(AiCacheValueError.code, message, { key });
  }
}

/**
 * A call failed recently with these details and `negativeTtl` remembers that failure: the inference was
 * not run again. `originalName`, `originalCode` and the message are those of the first failure.
 */
export class CachedFailureError extends RedisMiddlewareError {
  static readonly code = 'E_AI_CACHE_CACHED_FAILURE';
  readonly originalName: string;
  readonly originalCode: string | undefined;
  constructor(details: { name: string; message: string; code?: string }, key?: string) {
    super(CachedFailureError.code, `${details.message} (cached failure, the inference was not run again)`, { key });
    this.originalName = details.name;
    this.originalCode = details.code;
  }
}

/**
 * A streamed result was not read for `idleMs` (the lock TTL) after it was handed out, so its recording
 * was given up and its source closed; a consumer that comes back to it later gets this error rather
 * than a silently truncated stream.
 */
export class AiStreamIdleError extends RedisMiddlewareError {
  static readonly code = 'E_AI_CACHE_STREAM_IDLE';
  constructor(idleMs: number, key?: string) {
    super(
      AiStreamIdleError.code,
      `this stream was not read for ${idleMs} ms (lockTtl), so it was closed; iterate a streamed result as soon as you get it`,
      { key },
    );
  }
}

/** Every coded error class of aiCache, by code. */
export const aiCacheErrors = {
  E_AI_CACHE_VALUE: AiCacheValueError,
  E_AI_CACHE_CACHED_FAILURE: CachedFailureError,
  E_AI_CACHE_STREAM_IDLE: AiStreamIdleError,
} as const;
