// Coded errors of sessions(): the store cannot be reached, or a session is too large to write.
import { RedisMiddlewareError } from '../common/errors';

/**
 * The session store (Redis) is down, frozen, failing over or answered with an error, so this request
 * has no session. `sessions.errorHandler()` maps it to `503` with `Retry-After`.
 */
export class SessionUnavailableError extends RedisMiddlewareError {
  static readonly code = 'E_SESSION_UNAVAILABLE';
  constructor(message: string, options: { key?: string; cause?: unknown } = {}) {
    super(SessionUnavailableError.code, message, options);
  }
}

/** A session grew past the `maxSize` option; it was not written (the stored copy is unchanged). */
export class SessionTooLargeError extends RedisMiddlewareError {
  static readonly code = 'E_SESSION_TOO_LARGE';
  /** Size of the serialized session, in bytes. */
  readonly bytes: number;
  /** The `maxSize` option, in bytes. */
  readonly maxBytes: number;
  constructor(bytes: number, maxBytes: number, key: string) {
    super(
      SessionTooLargeError.code,
      `session is ${bytes} bytes serialized, above the maxSize option of ${maxBytes}; it was not saved`,
      { key },
    );
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}

/** Every coded error class of sessions(), by code. */
export const sessionErrors = {
  E_SESSION_UNAVAILABLE: SessionUnavailableError,
  E_SESSION_TOO_LARGE: SessionTooLargeError,
} as const;

/** Whether `error` is (or carries the code of) a session-unavailable error. */
export function isSessionUnavailable(error: unknown): error is SessionUnavailableError {
  return (
    error instanceof SessionUnavailableError ||
    (error instanceof Error && (error as { code?: unknown }).code === SessionUnavailableError.code)
  );
}
