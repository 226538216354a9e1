// Every coded error class of the package in one map, keyed by code (bentocache's `errors` is the model).
import { aiCacheErrors } from './ai-cache/errors';
import { errors as foundationErrors } from './common/errors';
import { QueryInvalidationError } from './query-cache/errors';
import { ResponseInvalidationError } from './response-cache/errors';
import { sessionErrors } from './sessions/errors';

/** Every coded error class, by code: `error instanceof errors.E_REDIS_TIMEOUT`, `errors.E_REDIS_TIMEOUT.code`. */
export const errors = {
  ...foundationErrors,
  ...sessionErrors,
  ...aiCacheErrors,
  E_QUERY_CACHE_INVALIDATION: QueryInvalidationError,
  E_RESPONSE_CACHE_INVALIDATION: ResponseInvalidationError,
} as const;
