// Coded error classes shared by every middleware; `errors` maps each code to its class.
import type { ErrorCode } from './codes';

/** Base class: every error this package raises is an `Error` with a stable `code`. */
export class RedisMiddlewareError extends Error {
  readonly code: ErrorCode;
  /** The Redis key, option or operation involved, when there is one. */
  readonly key: string | undefined;

  constructor(code: ErrorCode, message: string, options: { key?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.key = options.key;
  }
}

/** Redis did not answer within the configured bound. */
export class RedisTimeoutError extends RedisMiddlewareError {
  static readonly code = 'E_REDIS_TIMEOUT';
  constructor(operation: string, timeoutMs: number, key?: string) {
    super(RedisTimeoutError.code, `Redis did not answer ${operation} within ${timeoutMs} ms`, { key });
  }
}

/** Redis answered with an error or the connection failed. */
export class RedisUnavailableError extends RedisMiddlewareError {
  static readonly code = 'E_REDIS_UNAVAILABLE';
  constructor(operation: string, cause: unknown, key?: string) {
    super(RedisUnavailableError.code, `Redis failed during ${operation}: ${messageOf(cause)}`, { key, cause });
  }
}

/** A value is larger than the configured maximum and was not written. */
export class PayloadTooLargeError extends RedisMiddlewareError {
  static readonly code = 'E_PAYLOAD_TOO_LARGE';
  constructor(what: string, bytes: number, maxBytes: number, key?: string) {
    super(PayloadTooLargeError.code, `${what} is ${bytes} bytes, above the maximum of ${maxBytes}`, { key });
  }
}

/** Every coded error class of the package, by code. */
export const errors = {
  E_REDIS_TIMEOUT: RedisTimeoutError,
  E_REDIS_UNAVAILABLE: RedisUnavailableError,
  E_PAYLOAD_TOO_LARGE: PayloadTooLargeError,
} as const;

/** The message of anything thrown, including non-`Error` rejections. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
}

/** Wraps anything thrown into an `Error` (dependencies sometimes reject with plain objects). */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(messageOf(error));
}
