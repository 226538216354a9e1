// RFC 9111 §4.2 for a response as the handler answered it: freshness lifetime, current age, and the route's ttl on top.
import type { OutgoingHttpHeaders } from 'node:http';
import { type Directives, parseCacheControl, secondsDirective } from './cache-control';
import { parseHttpDate } from './http-date';

/** What the response's own headers say about its freshness. */
export interface Freshness {
  /**
   * The lifetime the headers give (§4.2.1: `s-maxage` > `max-age` > `Expires` − `Date`), in ms;
   * 0 when a value is invalid or in the past; undefined when the headers say nothing.
   */
  explicitMs: number | undefined;
  /** The corrected initial age (§4.2.3): apparent age from `Date`, or the upstream `Age` plus the response delay. */
  ageMs: number;
}

/** Reads a response's freshness; `requestedAt` is when its request started, `now` when it ended. */
export function freshnessOf(headers: OutgoingHttpHeaders, requestedAt: number, now: number): Freshness {
  const directives = parseCacheControl(headers['cache-control']);
  const date = parseHttpDate(headers.date, now) ?? now;
  return {
    explicitMs: explicitLifetimeMs(directives, headers, date, now),
    ageMs: initialAgeMs(headers, date, requestedAt, now),
  };
}

function explicitLifetimeMs(
  directives: Directives,
  headers: OutgoingHttpHeaders,
  date: number,
  now: number,
): number | undefined {
  for (const name of ['s-maxage', 'max-age']) {
    const seconds = secondsDirective(directives, name);
    if (seconds !== undefined) return seconds ?? 0; // invalid: stale (§4.2.1), never "absent"
  }
  if (headers.expires === undefined) return undefined;
  const expires = parseHttpDate(headers.expires, now);
  return expires === undefined ? 0 : Math.max(0, expires - date); // §5.3: an invalid Expires is in the past
}

/**
 * §4.2.3: `max(apparent_age, age_value + response_delay)`. The response delay counts only when an
 * upstream cache sent an `Age` (an in-process handler's own run time is not age).
 */
function initialAgeMs(headers: OutgoingHttpHeaders, date: number, requestedAt: number, now: number): number {
  const apparent = Math.max(0, now - date);
  const upstream = ageValueMs(headers.age);
  return upstream === undefined ? apparent : Math.max(apparent, upstream + Math.max(0, now - requestedAt));
}

/** The `Age` value in ms (§5.1): the first value of the first line; undefined when absent or not delta-seconds. */
function ageValueMs(value: OutgoingHttpHeaders['age']): number | undefined {
  if (value === undefined) return undefined;
  const first = (Array.isArray(value) ? String(value[0] ?? '') : String(value)).split(',')[0]?.trim() ?? '';
  if (!/^\d+$/.test(first)) return undefined;
  return Math.min(Number(first), 2 ** 31) * 1000;
}

/** How the route turns a response's freshness into a stored lifetime: its ttl, or the response's own word. */
export type TtlRule = { kind: 'ttl'; ms: number } | { kind: 'response' };

/**
 * The lifetime to store a response for, in ms from its initial age (undefined: not fresh enough to
 * store). With a ttl: the ttl for a response that says nothing, the shorter of both for one that does.
 * With `'response'`: only what the headers make fresh.
 */
export function storedLifetimeMs(freshness: Freshness, rule: TtlRule): number | undefined {
  const { explicitMs, ageMs } = freshness;
  if (rule.kind === 'response') return explicitMs !== undefined && explicitMs > ageMs ? explicitMs : undefined;
  if (explicitMs === undefined) return rule.ms > ageMs ? rule.ms : undefined;
  const lifetime = Math.min(explicitMs, rule.ms);
  return lifetime > ageMs ? lifetime : undefined;
}
