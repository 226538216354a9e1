// rateLimit(): sliding-window, multi-window limiter middleware for Express on Redis (or memory).
import type { Request, RequestHandler } from 'express';
import { Limiter } from './limiter';
import { createHandler } from './middleware';
import { parseOptions } from './options';
import { DEFAULT_ENDPOINT, ipGroup, SubjectResolver } from './subject';
import type { RateLimitOptions, WindowState } from './types';

export { slidingWindowLua, slidingWindowScript } from './script';
export type {
  DecisionSource,
  RateLimitDecision,
  RateLimitOptions,
  RedisFailurePolicy,
  WindowLimit,
  WindowState,
} from './types';
export { DEFAULT_ENDPOINT, ipGroup };

/** The middleware returned by {@link rateLimit}, with admin helpers. */
export interface RateLimitMiddleware extends RequestHandler {
  /** Reads a subject's windows on an endpoint without counting (`endpoint` defaults to `name` or 'all'). */
  get(subject: string, endpoint?: string): Promise<WindowState[]>;
  /** Clears a subject's counters on an endpoint (Redis keys, insurance limiter, this instance's block). */
  reset(subject: string, endpoint?: string): Promise<void>;
  /** The subject a request is limited as (`u<user id>`, `ip<address or /64>`, or `key(req)`). */
  subjectOf(req: Request): string;
  /** The endpoint a request is counted under (`name`, the route pattern, or 'all'). */
  endpointOf(req: Request): string;
  /** The Redis keys of a subject on an endpoint, one per window. */
  keysOf(subject: string, endpoint?: string): string[];
}

/**
 * Limits requests per subject (the session's user, else the client IP) and endpoint over several sliding
 * windows at once, in one atomic Redis round trip.
 *
 * @example
 * app.use(rateLimit({ redis, windows: { '1m': 100, '1h': 1000, '1d': 10000 } }));
 * app.post('/ai/suggest', rateLimit({ redis, windows: { '1m': 10, '1h': 100, '1d': 500 }, cost: 1 }), handler);
 * @throws TypeError naming the option when an option is invalid.
 */
export function rateLimit(options: RateLimitOptions): RateLimitMiddleware {
  const config = parseOptions(options);
  const limiter = new Limiter(config);
  const subjects = new SubjectResolver(config);
  const handler = createHandler(config, limiter, subjects);
  const defaultEndpoint = config.name ?? DEFAULT_ENDPOINT;

  return Object.assign(handler, {
    get: (subject: string, endpoint = defaultEndpoint) => limiter.peek(subject, endpoint),
    reset: (subject: string, endpoint = defaultEndpoint) => limiter.reset(subject, endpoint),
    subjectOf: (req: Request) => subjects.subjectOf(req),
    endpointOf: (req: Request) => subjects.endpointOf(req),
    keysOf: (subject: string, endpoint = defaultEndpoint) => [...limiter.keysOf(subject, endpoint)],
  }) as RateLimitMiddleware;
}
