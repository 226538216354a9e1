// Parses the one duration convention every factory accepts: a number of milliseconds or '250ms' | '90s' | '5m' | '1h' | '1d'.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** A duration: milliseconds as a number, or a string such as `'250ms'`, `'90s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

/** Returns the duration in whole milliseconds, or undefined when it is not one. */
export function toMilliseconds(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] as number));
}

/**
 * Parses a duration option at factory time.
 * @throws TypeError naming the option when the value is not a duration, or is shorter than `minMs`.
 */
export function parseDuration(value: unknown, optionName: string, { minMs = 1 }: { minMs?: number } = {}): number {
  const ms = toMilliseconds(value);
  if (ms === undefined || ms < minMs) {
    throw new TypeError(
      `${optionName} option must be a duration such as '90s', '5m', '1h', '1d' or a number of ms` +
        (minMs > 0 ? ` (at least ${minMs} ms)` : '') +
        `; received ${describe(value)}`,
    );
  }
  return ms;
}

/** Formats milliseconds as the shortest exact label: 60000 → '1m', 1500 → '1500ms'. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A short, safe description of a rejected option value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
