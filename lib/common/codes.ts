// Every error and warning code of the package in one list: `E_<AREA>_<CONDITION>` errors, `W_<AREA>_<CONDITION>` warning lines.

/**
 * Every code the package uses, with its kind. Error classes take their `code` from the `'error'`
 * entries and `warn()`/`warnOnce()` from the `'warning'` entries, so a code missing here does not
 * compile. docs/errors.md documents each one.
 */
export const codes = {
  E_REDIS_TIMEOUT: 'error',
  E_REDIS_UNAVAILABLE: 'error',
  E_PAYLOAD_TOO_LARGE: 'error',
  E_SESSION_UNAVAILABLE: 'error',
  E_SESSION_TOO_LARGE: 'error',
  E_AI_CACHE_VALUE: 'error',
  E_AI_CACHE_CACHED_FAILURE: 'error',
  E_AI_CACHE_STREAM_IDLE: 'error',
  E_QUERY_CACHE_INVALIDATION: 'error',
  E_RESPONSE_CACHE_INVALIDATION: 'error',

  W_MEMORY_MODE: 'warning',
  W_SESSION_SECRET_SHORT: 'warning',
  W_SESSION_CORRUPT: 'warning',
  W_SESSION_NOT_SAVED: 'warning',
  W_SESSION_TOO_LARGE: 'warning',
  W_RATE_LIMIT_REDIS_ERROR: 'warning',
  W_RATE_LIMIT_TRUST_PROXY: 'warning',
  W_RATE_LIMIT_ENDPOINT: 'warning',
  W_RATE_LIMIT_POLICY_NAME: 'warning',
  W_RESPONSE_CACHE_INVALIDATION_PENDING: 'warning',
  W_RESPONSE_CACHE_MOUNT_PATTERN: 'warning',
  W_AI_CACHE_BAD_ENTRY: 'warning',
  W_AI_CACHE_INVALIDATION_PENDING: 'warning',
  W_AI_CACHE_UNSERIALIZABLE_CHUNK: 'warning',
  W_QUERY_CACHE_CORRUPT: 'warning',
  W_QUERY_CACHE_INVALIDATION_PENDING: 'warning',
  W_QUERY_CACHE_INVALIDATION_RECOVERED: 'warning',
  W_QUERY_CACHE_TTL_CLAMPED: 'warning',
} as const satisfies Record<string, 'error' | 'warning'>;

/** Any code of the package. */
export type Code = keyof typeof codes;
/** The code of an error class (`error.code`). */
export type ErrorCode = { [K in Code]: (typeof codes)[K] extends 'error' ? K : never }[Code];
/** The code at the start of a warning line (`[redis-middleware] W_…: …`). */
export type WarningCode = { [K in Code]: (typeof codes)[K] extends 'warning' ? K : never }[Code];
