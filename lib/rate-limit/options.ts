// Parses rateLimit() options once, at factory time, into an all-required internal config.
import type { NextFunction, Request, Response } from 'express';
import { describe, formatDuration, parseDuration } from '../common/duration';
import {
  assertKnownOptions,
  assertOptionsObject,
  type OptionDefaults,
  parseBoolean,
  parseChoice,
  parseFunction,
  parseInteger,
  parseName,
} from '../common/validate';
import { type Backend, encodeKeyPart, redisConnectionDefaults, resolveBackend } from '../redis';
import { MAX_INSURANCE_KEYS } from './insurance';
import type { RateLimitDecision, RateLimitOptions, RedisFailurePolicy, WindowLimit } from './types';

/** The default `userId`: `req.session.user.id` when it is a string or a number. */
export function sessionUserId(req: Request): string | number | undefined {
  const session = (req as Request & { session?: { user?: { id?: unknown } | null } }).session;
  const id = session?.user?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** Every option of {@link rateLimit} with its default (`undefined`: none, or computed as documented). */
export const rateLimitDefaults = {
  ...redisConnectionDefaults,
  windows: undefined,
  name: undefined,
  key: undefined,
  userId: sessionUserId,
  ipv6Prefix: 64,
  cost: 1,
  buckets: 60,
  onRedisError: 'insurance',
  insuranceKeys: MAX_INSURANCE_KEYS,
  blockInMemory: true,
  mode: 'reject',
  maxWait: '10s',
  standardHeaders: true,
  legacyHeaders: false,
  skip: undefined,
  handler: undefined,
  clock: undefined,
} as const satisfies OptionDefaults<RateLimitOptions>;

/** The fields of one `{ window, limit }` item of a `windows` list (both required). */
export const windowLimitDefaults = {
  window: undefined,
  limit: undefined,
} as const satisfies OptionDefaults<WindowLimit>;

/** One window, with everything the script needs precomputed. */
export interface WindowConfig {
  /** Canonical label (`'1m'`, `'1h'`, `'1500ms'`): policy name and key suffix. */
  label: string;
  /** The label as a key part (encoded once). */
  keySuffix: string;
  windowMs: number;
  limit: number;
  /** Bucket length in ms and number of buckets (count × bucketMs ≥ windowMs). */
  bucketMs: number;
  bucketCount: number;
}

/** The parsed options. */
export interface RateLimitConfig {
  backend: Backend;
  windows: WindowConfig[];
  name: string | undefined;
  label: string;
  key: ((req: Request) => string | undefined) | undefined;
  userId: (req: Request) => string | number | undefined;
  ipv6Prefix: 48 | 56 | 64;
  cost: number | ((req: Request) => number);
  onRedisError: RedisFailurePolicy;
  insuranceKeys: number;
  blockInMemory: boolean;
  throttle: boolean;
  maxWaitMs: number;
  standardHeaders: boolean;
  legacyHeaders: boolean;
  skip: ((req: Request) => boolean) | undefined;
  handler: ((req: Request, res: Response, next: NextFunction, decision: RateLimitDecision) => void) | undefined;
  clock: (() => number) | undefined;
}

const MAX_WINDOWS = 8;
const MAX_BUCKETS = 1000;

function parseWindows(value: unknown, buckets: number): WindowConfig[] {
  let entries: Array<[unknown, unknown, string]>;
  if (Array.isArray(value)) {
    entries = value.map((item, i) => {
      if (item === null || typeof item !== 'object') {
        throw new TypeError(`windows[${i}] must be { window, limit }; received ${describe(item)}`);
      }
      assertKnownOptions(item, windowLimitDefaults, `windows[${i}].`);
      const { window, limit } = item as Record<string, unknown>;
      return [window, limit, `windows[${i}]`];
    });
  } else if (value !== null && typeof value === 'object') {
    entries = Object.entries(value).map(([window, limit]) => [window, limit, `windows['${window}']`]);
  } else {
    throw new TypeError(
      `windows option must be an object such as { '1m': 100, '1h': 1000 } or a list of { window, limit }; received ${describe(value)}`,
    );
  }
  if (entries.length === 0 || entries.length > MAX_WINDOWS) {
    throw new TypeError(`windows option must name between 1 and ${MAX_WINDOWS} windows; received ${entries.length}`);
  }
  const seen = new Set<number>();
  return entries.map(([window, limit, name]) => {
    const windowMs = parseDuration(typeof window === 'string' && /^\d+$/.test(window) ? Number(window) : window, name);
    if (seen.has(windowMs)) throw new TypeError(`${name}: the window ${formatDuration(windowMs)} is given twice`);
    seen.add(windowMs);
    const parsedLimit = parseInteger(limit, `${name} limit`, 0, 1);
    const bucketMs = Math.max(1, Math.floor(windowMs / buckets));
    const label = formatDuration(windowMs);
    return {
      label,
      keySuffix: encodeKeyPart(label),
      windowMs,
      limit: parsedLimit,
      bucketMs,
      bucketCount: Math.ceil(windowMs / bucketMs),
    };
  });
}

/** Validates every option; throws a `TypeError` naming the first bad one. */
export function parseOptions(options: RateLimitOptions): RateLimitConfig {
  assertOptionsObject(options, 'rateLimit');
  assertKnownOptions(options, rateLimitDefaults);
  if (options.windows === undefined) {
    throw new TypeError("windows option is required, e.g. { '1m': 100, '1h': 1000, '1d': 10000 }");
  }
  const buckets = parseInteger(options.buckets, 'buckets', rateLimitDefaults.buckets, 1);
  if (buckets > MAX_BUCKETS) throw new TypeError(`buckets option must be at most ${MAX_BUCKETS}; received ${buckets}`);
  const windows = parseWindows(options.windows, buckets);
  const name = options.name === undefined ? undefined : parseName(options.name, 'name');

  const cost = options.cost ?? rateLimitDefaults.cost;
  if (typeof cost === 'number') {
    parseInteger(cost, 'cost', rateLimitDefaults.cost, 1);
    const smallest = Math.min(...windows.map((w) => w.limit));
    if (cost > smallest) {
      throw new TypeError(
        `cost option (${cost}) must not exceed the smallest limit (${smallest}): no request could pass`,
      );
    }
  } else if (typeof cost !== 'function') {
    throw new TypeError(`cost option must be a whole number of at least 1 or a function; received ${describe(cost)}`);
  }

  const ipv6Prefix = options.ipv6Prefix ?? rateLimitDefaults.ipv6Prefix;
  if (ipv6Prefix !== 48 && ipv6Prefix !== 56 && ipv6Prefix !== 64) {
    throw new TypeError(`ipv6Prefix option must be 48, 56 or 64; received ${describe(ipv6Prefix)}`);
  }

  const clock = parseFunction<() => number>(options.clock, 'clock');
  const backend = resolveBackend(options, 'rate-limit');
  if (clock && backend.kind !== 'memory') {
    throw new TypeError('clock option applies to the memory backend only (Redis keeps time with its own clock)');
  }

  const maxWaitMs = parseDuration(options.maxWait ?? rateLimitDefaults.maxWait, 'maxWait');

  return {
    backend,
    windows,
    name,
    label: name ?? 'all',
    key: parseFunction<(req: Request) => string | undefined>(options.key, 'key'),
    userId: parseFunction<(req: Request) => string | number | undefined>(
      options.userId,
      'userId',
      rateLimitDefaults.userId,
    ),
    ipv6Prefix,
    cost,
    onRedisError: parseChoice(
      options.onRedisError,
      'onRedisError',
      ['insurance', 'allow', 'deny'] as const,
      rateLimitDefaults.onRedisError,
    ),
    insuranceKeys: parseInteger(options.insuranceKeys, 'insuranceKeys', rateLimitDefaults.insuranceKeys, 1),
    blockInMemory: parseBoolean(options.blockInMemory, 'blockInMemory', rateLimitDefaults.blockInMemory),
    throttle: parseChoice(options.mode, 'mode', ['reject', 'throttle'] as const, rateLimitDefaults.mode) === 'throttle',
    maxWaitMs,
    standardHeaders: parseBoolean(options.standardHeaders, 'standardHeaders', rateLimitDefaults.standardHeaders),
    legacyHeaders: parseBoolean(options.legacyHeaders, 'legacyHeaders', rateLimitDefaults.legacyHeaders),
    skip: parseFunction<(req: Request) => boolean>(options.skip, 'skip'),
    handler: parseFunction<NonNullable<RateLimitConfig['handler']>>(options.handler, 'handler'),
    clock,
  };
}
