// The closed list of every metric label value, and the functions that map events onto it (nothing else reaches a label).
import { bypassReasons, skipReasons } from '../common/reasons';
import { concerns } from '../redis/connections';
import { scriptNames } from '../redis/script';

/** The Redis commands the backends send (script calls are labelled with the script's name). */
export const redisCommands = ['GET', 'MGET', 'SET', 'SET NX', 'DEL', 'PUBLISH'] as const;

/** Classes of failed Redis calls (`class` label of `redis_command_errors_total`). */
export const redisErrorClasses = ['timeout', 'unavailable', 'reply', 'other'] as const;

/** Limiter decisions (`outcome` label of `rate_limit_decisions_total`). */
export const limitOutcomes = ['allow', 'reject', 'throttle', 'insurance', 'block', 'error'] as const;

/**
 * Every value each label can take. `limiter` is the one label whose values the application chooses (the
 * limiters' `name` options, or `all`); no label ever carries text from a request. docs/observability.md
 * lists them all; a value outside its list becomes `other` (a bug: please report it).
 */
export function labelValues(): Record<string, readonly string[]> {
  return {
    cache: ['api', 'ai', 'db'],
    'reason (bypasses)': bypassReasons,
    'reason (skips)': skipReasons,
    outcome: limitOutcomes,
    class: redisErrorClasses,
    concern: concerns,
    operation: [...redisCommands, ...[...scriptNames].sort(), 'other'],
  };
}

const reasonSet: ReadonlySet<string> = new Set<string>([...bypassReasons, ...skipReasons]);
const commandSet: ReadonlySet<string> = new Set<string>(redisCommands);

/** The reason itself when it is on the closed lists, else `other` (events are typed, so only a bug gets here). */
export function reasonLabel(reason: string): string {
  return reasonSet.has(reason) ? reason : 'other';
}

/** A Redis command of the backends or a declared script's name, else `other`. */
export function operationLabel(operation: string): string {
  return commandSet.has(operation) || scriptNames.has(operation) ? operation : 'other';
}

/** The class of a failed Redis call, from the error text the event carries: a small, fixed label set. */
export function redisErrorClass(error: string): (typeof redisErrorClasses)[number] {
  if (/timeout|timed out|did not answer/i.test(error)) return 'timeout';
  if (
    /unavailable|ECONNREFUSED|ECONNRESET|EPIPE|closed|reconnect|CLUSTERDOWN|MASTERDOWN|LOADING|READONLY/i.test(error)
  ) {
    return 'unavailable';
  }
  if (/ReplyError|^ERR|WRONGTYPE|NOSCRIPT/.test(error)) return 'reply';
  return 'other';
}

/** Keeps at most `max` distinct values for the application-chosen `limiter` label; later newcomers are `other`. */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  /** The value itself while there is room (or it was seen before), else `'other'`. */
  of(value: string | undefined): string {
    const label = value === undefined || value === '' ? 'none' : value.slice(0, 64);
    if (this.seen.has(label)) return label;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(label);
    return label;
  }
}
