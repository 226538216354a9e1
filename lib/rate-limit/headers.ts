// The rate-limit response headers (draft-ietf-httpapi-ratelimit-headers, legacy X-RateLimit-*) and the 429/503 problem bodies.
import type { Response } from 'express';
import { warnOnce } from '../common/log';
import type { Decision } from './decision';
import type { RateLimitConfig, WindowConfig } from './options';
import type { RateLimitDecision, WindowState } from './types';

/** Whole seconds, rounded up, at least `min`. */
function seconds(ms: number, min = 0): number {
  return Math.max(min, Math.ceil(ms / 1000));
}

/** The policy items of one limiter on one endpoint: their names and the `RateLimit-Policy` value. */
export interface Policy {
  /** One quoted name per window, e.g. `"global-1m"`. */
  names: string[];
  /** `"global-1m";q=100;w=60, "global-1h";q=1000;w=3600`. */
  header: string;
  /** Per window, the start of its `RateLimit` item up to `r=`: `"global-1m";r=` (the first without `, `). */
  items: string[];
  /** The first name followed by `;`: how a second limiter with the same policy name is recognised. */
  clash: string;
}

/**
 * A structured-field String (RFC 8941 § 3.3.3): `"` and `\` escaped; characters outside printable ASCII
 * percent-encoded as UTF-8 (they are not allowed in a String).
 */
export function sfString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code >= 0x20 && code <= 0x7e) out += char;
    else out += encodeURIComponent(char);
  }
  return `${out}"`;
}

/**
 * `RateLimit-Policy` of a limiter: one quota policy item per window, named `<name>-<window>` after the
 * limiter's name (or, without one, its endpoint: the route pattern or 'all'), with `q` (the quota) and `w`
 * (the window in seconds), e.g. `"global-1m";q=100;w=60, "global-1h";q=1000;w=3600`
 * (draft-ietf-httpapi-ratelimit-headers-11 § 3). Distinct names let several limiters on one request list
 * their policies side by side. Computed once per limiter and endpoint.
 */
export function policyOf(prefix: string, windows: WindowConfig[]): Policy {
  const names = windows.map((w) => sfString(`${prefix}-${w.label}`));
  const header = windows.map((w, i) => `${names[i]};q=${w.limit};w=${seconds(w.windowMs, 1)}`).join(', ');
  const items = names.map((name, i) => `${i === 0 ? '' : ', '}${name};r=`);
  return { names, header, items, clash: `${names[0]};` };
}

/**
 * The `t` parameter of a window, in whole seconds: its effective window, "the number of seconds within which
 * the client can use no more than the available quota" (draft-ietf-httpapi-ratelimit-headers-11 § 4.1.2).
 *
 * - Nothing counted: `w` (no interval of `w` seconds holds more than the quota).
 * - Quota left (`r > 0`): the time until the oldest counted request leaves the window (when more quota
 *   becomes available), capped at `w`. The cap keeps the statement true (no quota returns before then)
 *   while never announcing more than the window; without it a fresh window would say up to `w` + one bucket.
 * - No quota left (`r = 0`): the time until the oldest counted request leaves the window, uncapped: it can
 *   exceed `w` by up to one bucket (`w / buckets`), the documented error bound of the bucketed window, and
 *   for a request of cost 1 it equals `Retry-After`.
 */
export function effectiveWindowSeconds(w: WindowState): number {
  return effectiveSeconds(w.windowMs, w.consumedPoints, w.remainingPoints, w.msBeforeNext);
}

/** {@link effectiveWindowSeconds} from the numbers themselves (the request path builds no `WindowState`). */
function effectiveSeconds(windowMs: number, used: number, remaining: number, nextMs: number): number {
  const windowSeconds = seconds(windowMs, 1);
  if (used <= 0) return windowSeconds;
  const t = seconds(nextMs);
  return remaining > 0 && t > windowSeconds ? windowSeconds : t;
}

/**
 * `RateLimit`: one item per window with `r` (remaining units) and `t` (see {@link effectiveWindowSeconds}),
 * e.g. `"1m";r=99;t=60` (draft § 4).
 */
export function limitHeader(windows: WindowState[], names?: string[]): string {
  let value = '';
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i] as WindowState;
    if (value !== '') value += ', ';
    value += `${names?.[i] ?? sfString(w.window)};r=${w.remainingPoints};t=${effectiveWindowSeconds(w)}`;
  }
  return value;
}

/** `RateLimit` of a decision, from its counts and the policy's precomputed item starts. */
function decisionLimitHeader(decision: Decision, policy: Policy): string {
  let value = '';
  for (let i = 0; i < decision.size; i++) {
    const w = decision.windowAt(i);
    const used = decision.used(i);
    const remaining = used < w.limit ? w.limit - used : 0;
    value += `${policy.items[i]}${remaining};t=${effectiveSeconds(w.windowMs, used, remaining, decision.nextMs(i))}`;
  }
  return value;
}

/** Appends a list value to a field another limiter may already have set (RFC 9110 § 5.3: same as a comma list). */
function appendList(res: Response, field: string, value: string): string | undefined {
  const previous = res.getHeader(field);
  if (previous === undefined) {
    res.setHeader(field, value);
    return undefined;
  }
  const text = Array.isArray(previous) ? previous.join(', ') : String(previous);
  res.setHeader(field, `${text}, ${value}`);
  return text;
}

/**
 * Sets the headers of a decision (on every response, passed or rejected). Does nothing once headers are sent.
 * `RateLimit-Policy` and `RateLimit` are appended to, so the items of several limiters on one request stand
 * side by side (outer limiter first); the legacy `X-RateLimit-*` headers describe the tightest window of
 * all of them (fewest units left; the longest reset on a tie); `Retry-After` is set by the limiter that
 * rejected.
 */
export function setLimitHeaders(res: Response, config: RateLimitConfig, policy: Policy, decision: Decision): void {
  if (res.headersSent) return;
  const size = decision.size;
  if (config.standardHeaders && size > 0) {
    const previous = appendList(res, 'RateLimit-Policy', policy.header);
    if (previous?.includes(policy.clash)) {
      warnOnce(
        'W_RATE_LIMIT_POLICY_NAME',
        `rateLimit: two limiters on one request both name their policy ${policy.names[0]} (same name or endpoint and window); give each its own name option`,
      );
    }
    appendList(res, 'RateLimit', decisionLimitHeader(decision, policy));
  }
  if (config.legacyHeaders && size > 0) {
    let best = 0;
    let bestRemaining = Number.POSITIVE_INFINITY;
    let bestNext = 0;
    for (let i = 0; i < size; i++) {
      const remaining = Math.max(0, decision.windowAt(i).limit - decision.used(i));
      const next = decision.nextMs(i);
      if (remaining < bestRemaining || (remaining === bestRemaining && next > bestNext)) {
        best = i;
        bestRemaining = remaining;
        bestNext = next;
      }
    }
    const previous = res.getHeader('X-RateLimit-Remaining');
    if (previous === undefined || bestRemaining < Number(previous)) {
      res.setHeader('X-RateLimit-Limit', String(decision.windowAt(best).limit));
      res.setHeader('X-RateLimit-Remaining', String(bestRemaining));
      res.setHeader('X-RateLimit-Reset', String(Math.ceil((Date.now() + bestNext) / 1000)));
    }
  }
  if (!decision.allowed) res.setHeader('Retry-After', String(retryAfterSeconds(decision)));
}

/** `Retry-After` in whole seconds, at least 1 (RFC 9110 § 10.2.3). */
export function retryAfterSeconds(decision: RateLimitDecision): number {
  return seconds(decision.retryAfterMs, 1);
}

/** Sends the 429 problem (RFC 9457) for a rejected request. */
export function sendTooManyRequests(res: Response, decision: RateLimitDecision): void {
  if (res.headersSent) return;
  const full = decision.windows.filter((w) => w.remainingPoints < decision.cost);
  const which = full.length > 0 ? full.map((w) => `${w.limit} per ${w.window}`).join(' and ') : 'the rate limit';
  const retryAfter = retryAfterSeconds(decision);
  sendProblem(res, 429, {
    type: 'about:blank',
    title: 'Too Many Requests',
    status: 429,
    detail: `Too many requests: ${which} used up; retry in ${retryAfter} s.`,
    retryAfter,
  });
}

/** Sends the 503 problem when Redis failed and the policy is `'deny'`. */
export function sendUnavailable(res: Response): void {
  if (res.headersSent) return;
  res.setHeader('Retry-After', '1');
  sendProblem(res, 503, {
    type: 'about:blank',
    title: 'Service Unavailable',
    status: 503,
    detail: 'The rate limit store is unavailable; retry shortly.',
  });
}

function sendProblem(res: Response, status: number, body: Record<string, unknown>): void {
  res.status(status);
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.end(JSON.stringify(body));
}
