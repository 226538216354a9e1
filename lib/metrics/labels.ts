// Label hygiene for metrics: bounded label sets (no cardinality explosions) and Redis error classes.

/** Keeps at most `max` distinct values for one label; later newcomers are reported as `other`. */
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

/** The class of a failed Redis call, from the error text the event carries: a small, fixed label set. */
export function redisErrorClass(error: string): 'timeout' | 'unavailable' | 'reply' | 'other' {
  if (/timeout|timed out|did not answer/i.test(error)) return 'timeout';
  if (
    /unavailable|ECONNREFUSED|ECONNRESET|EPIPE|closed|reconnect|CLUSTERDOWN|MASTERDOWN|LOADING|READONLY/i.test(error)
  ) {
    return 'unavailable';
  }
  if (/ReplyError|^ERR|WRONGTYPE|NOSCRIPT/.test(error)) return 'reply';
  return 'other';
}
