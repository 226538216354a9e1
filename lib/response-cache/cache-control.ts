// Parses Cache-Control (RFC 9111 §5.2) into directives, for the request and response rules.

/** Directive name (lower-case) → argument (`''` when it has none). */
export type Directives = ReadonlyMap<string, string>;

const EMPTY: Directives = new Map();

/** Parses a Cache-Control header value (a string, a list, or absent). Unknown directives are kept. */
export function parseCacheControl(value: string | number | readonly string[] | undefined): Directives {
  if (value === undefined) return EMPTY;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  if (text.trim() === '') return EMPTY;
  const directives = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    const argument =
      eq === -1
        ? ''
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    if (!directives.has(name)) directives.set(name, argument);
  }
  return directives;
}

/** A delta-seconds argument (RFC 9111 §1.2.2) in ms, or undefined when absent or malformed. */
export function secondsDirective(directives: Directives, name: string): number | undefined {
  const argument = directives.get(name);
  if (argument === undefined || !/^\d+$/.test(argument)) return undefined;
  return Number(argument) * 1000;
}
