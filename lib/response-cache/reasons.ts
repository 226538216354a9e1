// The closed list of reasons responseCache gives for a bypass or a response it did not store (metric labels, events).

/**
 * Every reason responseCache reports, one short kebab-case word per condition. Nothing a client sends
 * ever becomes a reason: details (a header name, an error message) go to the DEBUG line only.
 */
export const RESPONSE_CACHE_REASONS = [
  // the request opted out or cannot share an entry
  'no-store',
  'authorization',
  'cookie',
  // Redis
  'redis-unavailable',
  'redis-error',
  // invalidation
  'invalidation-pending',
  'invalidated',
  // the response is not storable
  'method',
  'status',
  'set-cookie',
  'private',
  'no-cache',
  'not-fresh',
  'vary',
  'too-large',
  'unkeyed-header',
  'tags-error',
  'slow-handler',
  // served stale because the handler failed
  'stale-if-error',
] as const;

/** One of {@link RESPONSE_CACHE_REASONS}. */
export type ResponseCacheReason = (typeof RESPONSE_CACHE_REASONS)[number];
