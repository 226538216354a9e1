// Public types of rateLimit(): the options, the per-window state and the decision a request gets.
import type { NextFunction, Request, Response } from 'express';
import type { Duration } from '../common/duration';
import type { RedisConnectionOptions } from '../redis';

/** One window and its limit, e.g. `{ window: '1h', limit: 1000 }`. */
export interface WindowLimit {
  /** The window's length: `'90s'`, `'1m'`, `'1h'`, `'1d'` or a number of ms. */
  window: Duration;
  /** Most request units (see `cost`) allowed in any interval of that length. */
  limit: number;
}

/** What to do when Redis fails (timeout, connection refused, failover in progress, script error). */
export type RedisFailurePolicy = 'insurance' | 'allow' | 'deny';

/** Options of {@link rateLimit}. Every option is read once, when the middleware is created. */
export interface RateLimitOptions extends RedisConnectionOptions {
  /**
   * The windows and their limits: `{ '1m': 100, '1h': 1000, '1d': 10000 }` or
   * `[{ window: '1m', limit: 100 }, …]`. A request passes only when every window has room.
   * Required.
   */
  windows: Record<string, number> | WindowLimit[];
  /**
   * The endpoint part of the keys and the `limiter` label of events. When given, every route behind
   * this middleware shares one budget under this name. Without it, the full route pattern is used
   * (mount patterns + `req.route.path`, e.g. `/users/:uid/items`) when mounted on a route, else `'all'`;
   * when the mount pattern cannot be proven (RegExp mount, router mounted twice…) `~` + the route's path,
   * with a warning asking for a name. Never the raw URL.
   * Give distinct names to several limiters mounted with `app.use`, or they share counters.
   * @default the route pattern, or 'all'
   */
  name?: string;
  /**
   * The subject of a request (who is limited). Returning `undefined` falls back to the user, then the IP.
   * @default none (user id from `userId`, else the client IP)
   */
  key?: (req: Request) => string | undefined;
  /**
   * Reads the user id of a request. The subject is then `u<id>`.
   * @default `req.session.user.id` (as set by `sessions.login()`), when it is a string or a number
   */
  userId?: (req: Request) => string | number | undefined;
  /**
   * IPv6 clients are grouped by this prefix length (a client usually owns a whole /64 or /56).
   * The subject of an anonymous client is `ip<address or prefix>`. IPv4-mapped IPv6 counts as IPv4.
   * @default 64
   */
  ipv6Prefix?: 48 | 56 | 64;
  /**
   * Units one request uses: a number, or a function of the request (an AI call may cost 10 page views).
   * @default 1
   */
  cost?: number | ((req: Request) => number);
  /**
   * Buckets per window: the precision of the sliding window. A request may be rejected up to one bucket
   * (window / buckets) early; memory per key grows with it (see docs).
   * @default 60
   */
  buckets?: number;
  /**
   * When Redis fails: `'insurance'` limits in process memory with rate-limiter-flexible (each instance on
   * its own), `'allow'` lets requests through unlimited, `'deny'` answers 503. Never a 429.
   * @default 'insurance'
   */
  onRedisError?: RedisFailurePolicy;
  /**
   * With `onRedisError: 'insurance'`: most distinct subjects (per endpoint) the insurance limiter remembers
   * while Redis fails; the least recently seen is forgotten first (it starts again from zero). Bounds its
   * memory at about 0.5 KB per key and window (10 000 keys × 3 windows ≈ 15 MB).
   * @default 10000
   */
  insuranceKeys?: number;
  /**
   * Remember subjects Redis rejected until they may retry, and reject them in memory meanwhile, so a
   * client hammering a limit costs no Redis calls.
   * @default true
   */
  blockInMemory?: boolean;
  /**
   * `'reject'` answers 429 at once; `'throttle'` delays the request until it fits, up to `maxWait`.
   * @default 'reject'
   */
  mode?: 'reject' | 'throttle';
  /**
   * In throttle mode: longest a request may be delayed before it is rejected after all.
   * @default '10s'
   */
  maxWait?: Duration;
  /**
   * Send `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers) on every response, one
   * item per window named `<name>-<window>` (the endpoint without `name`), appended to the items of other
   * limiters on the same request.
   * @default true
   */
  standardHeaders?: boolean;
  /**
   * Also send `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds when more
   * units become available) for the window closest to its limit, across every limiter on the request.
   * @default false
   */
  legacyHeaders?: boolean;
  /**
   * Requests for which this returns true are not limited (and not counted).
   * @default none
   */
  skip?: (req: Request) => boolean;
  /**
   * Sends the answer to a rejected request instead of the RFC 9457 JSON problem. Headers are set before.
   * @default a 429 `application/problem+json` body
   */
  handler?: (req: Request, res: Response, next: NextFunction, decision: RateLimitDecision) => void;
  /**
   * Memory backend only (no `redis`): the clock, in ms, for tests that move time. Redis uses its own clock.
   * @default Date.now
   */
  clock?: () => number;
}

/** The state of one window, in rate-limiter-flexible's `RateLimiterRes` shape plus the window. */
export interface WindowState {
  /** The window's label, e.g. `'1m'` (also its policy name in the headers). */
  window: string;
  windowMs: number;
  limit: number;
  /** Units counted in the window (including this request when it passed). */
  consumedPoints: number;
  /** Units left. */
  remainingPoints: number;
  /**
   * Ms until more units become available: until the oldest counted request leaves the window (at most the
   * window plus one bucket; for the insurance limiter, until its fixed window resets). 0 when nothing is counted.
   */
  msBeforeNext: number;
}

/** Where a decision came from. */
export type DecisionSource = 'redis' | 'memory' | 'block' | 'insurance' | 'allow' | 'deny';

/** What the limiter decided for one request; also on `res.locals.rateLimit`. */
export interface RateLimitDecision {
  allowed: boolean;
  /** When rejected: ms until this request would fit (0 when allowed). */
  retryAfterMs: number;
  /** The subject and endpoint of the keys. */
  subject: string;
  endpoint: string;
  cost: number;
  source: DecisionSource;
  /** Per window, in option order (empty when Redis failed and the policy is allow or deny). */
  windows: WindowState[];
}
