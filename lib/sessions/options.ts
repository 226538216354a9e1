// sessions() options: the public type with defaults, and their one-time parsing into an all-required config.
import type { CookieOptions } from 'express-session';
import { type Duration, describe, parseDuration } from '../common/duration';
import { warnOnce } from '../common/log';
import {
  assertKnownOptions,
  assertOptionsObject,
  type OptionDefaults,
  parseBoolean,
  parseChoice,
  parseInteger,
  parseName,
} from '../common/validate';
import { assertRedisClient, type RedisClient, type RedisConnectionOptions, redisConnectionDefaults } from '../redis';

/** Secrets shorter than this get a one-time warning. */
export const MIN_SECRET_LENGTH = 32;

/** Attributes of the session cookie. */
export interface SessionCookieOptions {
  /**
   * Lifetime of the cookie; `null` makes it a browser-session cookie (the Redis key then lives `ttl`).
   * @default the `ttl` option
   */
  maxAge?: Duration | null;
  /** `Domain` attribute. @default none (host-only) */
  domain?: string;
  /** `Path` attribute; requests outside it get no session. @default '/' */
  path?: string;
  /** `SameSite` attribute (`'none'` requires `secure`). @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /**
   * `Secure` attribute. `'auto'` sets it when the request is HTTPS (`req.secure`, which honours Express
   * `trust proxy`, or the `proxy` option). A secure cookie is never sent over plain HTTP.
   * @default true when NODE_ENV is 'production' at factory time, else 'auto'
   */
  secure?: boolean | 'auto';
  /** `HttpOnly` attribute. @default true */
  httpOnly?: boolean;
  /** `Partitioned` attribute (CHIPS). @default false */
  partitioned?: boolean;
}

/** Options of `sessions()`. */
export interface SessionsOptions extends RedisConnectionOptions {
  /** Secret(s) that sign the session cookie; the first signs, all verify (rotation). Required. */
  secret: string | string[];
  /**
   * How long a session lives after it was last saved or touched, without a cookie expiry to follow.
   * Also the default cookie `maxAge`.
   * @default '1d'
   */
  ttl?: Duration;
  /** Re-send the cookie with a fresh expiry on every response (sliding expiry). @default false */
  rolling?: boolean;
  /**
   * Absolute maximum lifetime from the session's first save, however active it is; `0` = none.
   * Regenerating the id (`sessions.login`) starts a new lifetime.
   * @default 0 (none)
   */
  maxLifetime?: Duration;
  /**
   * An unmodified session's expiry is moved forward only when that gains at least this much over the
   * expiry last written, so most requests cost one Redis command (GET).
   * @default a tenth of `ttl`
   */
  touchAfter?: Duration;
  /** Name of the session cookie. @default 'sid' */
  name?: string;
  /** Cookie attributes. */
  cookie?: SessionCookieOptions;
  /**
   * Largest serialized session, in bytes. Larger sessions are not written (`E_SESSION_TOO_LARGE`), and
   * larger stored values are read as a fresh session.
   * @default 65536
   */
  maxSize?: number;
  /**
   * Trust `X-Forwarded-Proto` for `secure: 'auto'` (`true`), never (`false`), or follow Express
   * `trust proxy` through `req.secure` (undefined).
   * @default undefined
   */
  proxy?: boolean;
}

/** Every attribute of {@link SessionCookieOptions} with its default (`undefined`: none, or computed as documented). */
export const sessionCookieDefaults = {
  maxAge: undefined,
  domain: undefined,
  path: '/',
  sameSite: 'lax',
  secure: undefined,
  httpOnly: true,
  partitioned: false,
} as const satisfies OptionDefaults<SessionCookieOptions>;

/** Every option of `sessions()` with its default (`undefined`: none, or computed as documented). */
export const sessionsDefaults = {
  ...redisConnectionDefaults,
  secret: undefined,
  ttl: '1d',
  rolling: false,
  maxLifetime: 0,
  touchAfter: undefined,
  name: 'sid',
  cookie: undefined,
  maxSize: 65536,
  proxy: undefined,
} as const satisfies OptionDefaults<SessionsOptions>;

/** The parsed, all-required configuration. */
export interface SessionsConfig {
  redis: RedisClient | undefined;
  redisTimeoutMs: number;
  secrets: string[];
  ttlMs: number;
  rolling: boolean;
  maxLifetimeMs: number;
  touchAfterMs: number;
  name: string;
  cookie: CookieOptions;
  maxSize: number;
  proxy: boolean | undefined;
}

/** Parses and checks every option once; throws a TypeError naming the option. */
export function parseSessionsOptions(options: unknown, env: NodeJS.ProcessEnv = process.env): SessionsConfig {
  assertOptionsObject(options, 'sessions');
  assertKnownOptions(options, sessionsDefaults);
  const o = options as Partial<SessionsOptions>;
  if (o.redis !== undefined) assertRedisClient(o.redis);
  const secrets = parseSecrets(o.secret);
  const ttlMs = parseDuration(o.ttl ?? sessionsDefaults.ttl, 'ttl', { minMs: 1000 });
  const maxLifetimeMs = parseDuration(o.maxLifetime ?? sessionsDefaults.maxLifetime, 'maxLifetime', { minMs: 0 });
  const touchAfterMs =
    o.touchAfter === undefined ? Math.floor(ttlMs / 10) : parseDuration(o.touchAfter, 'touchAfter', { minMs: 0 });
  return {
    redis: o.redis,
    redisTimeoutMs: parseDuration(o.redisTimeout ?? sessionsDefaults.redisTimeout, 'redisTimeout'),
    secrets,
    ttlMs,
    rolling: parseBoolean(o.rolling, 'rolling', sessionsDefaults.rolling),
    maxLifetimeMs,
    touchAfterMs,
    name: parseCookieName(o.name),
    cookie: parseCookie(o.cookie, ttlMs, env.NODE_ENV === 'production'),
    maxSize: parseInteger(o.maxSize, 'maxSize', sessionsDefaults.maxSize, 256),
    proxy: o.proxy === undefined ? undefined : parseBoolean(o.proxy, 'proxy', false),
  };
}

function parseSecrets(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw new TypeError(
      `secret option is required: a non-empty string, or a non-empty list of them (the first signs, all verify); received ${describe(value)}`,
    );
  }
  const secrets = list as string[];
  if (secrets.some((s) => s.length < MIN_SECRET_LENGTH)) {
    warnOnce(
      'W_SESSION_SECRET_SHORT',
      `a session secret is shorter than ${MIN_SECRET_LENGTH} characters; use a long random value (e.g. openssl rand -base64 48)`,
    );
  }
  return secrets;
}

function parseCookieName(value: unknown): string {
  const name = parseName(value, 'name', sessionsDefaults.name);
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new TypeError(`name option must be a cookie name (RFC 6265 token characters); received ${describe(value)}`);
  }
  return name;
}

function parseCookie(value: unknown, ttlMs: number, production: boolean): CookieOptions {
  if (value === undefined) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`cookie option must be an object of cookie attributes; received ${describe(value)}`);
  }
  assertKnownOptions(value, sessionCookieDefaults, 'cookie.');
  const c = value as SessionCookieOptions;
  const maxAge = c.maxAge === null ? null : parseDuration(c.maxAge ?? ttlMs, 'cookie.maxAge', { minMs: 1000 });
  const sameSite = parseChoice(
    c.sameSite,
    'cookie.sameSite',
    ['lax', 'strict', 'none'] as const,
    sessionCookieDefaults.sameSite,
  );
  if (c.secure !== undefined && c.secure !== 'auto' && typeof c.secure !== 'boolean') {
    throw new TypeError(`cookie.secure option must be true, false or 'auto'; received ${describe(c.secure)}`);
  }
  const resolvedSecure = c.secure ?? (production ? true : 'auto');
  if (sameSite === 'none' && resolvedSecure === false) {
    throw new TypeError("cookie.sameSite option 'none' requires cookie.secure true or 'auto' (browsers refuse it)");
  }
  const cookie: CookieOptions = {
    path: parsePath(c.path ?? sessionCookieDefaults.path),
    httpOnly: parseBoolean(c.httpOnly, 'cookie.httpOnly', sessionCookieDefaults.httpOnly),
    sameSite,
    secure: resolvedSecure,
  };
  if (parseBoolean(c.partitioned, 'cookie.partitioned', sessionCookieDefaults.partitioned)) cookie.partitioned = true;
  if (maxAge !== null) cookie.maxAge = maxAge;
  if (c.domain !== undefined) cookie.domain = parseName(c.domain, 'cookie.domain');
  return cookie;
}

function parsePath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || /[\s;]/.test(value)) {
    throw new TypeError(`cookie.path option must be a path starting with '/'; received ${describe(value)}`);
  }
  return value;
}
