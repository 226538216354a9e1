// Parses Cache-Control (RFC 9111 §5.2) into directives, for the request and response rules.

/** Directive name (lower-case) → argument (`''` when it has none), as written (quotes removed). */
export type Directives = ReadonlyMap<string, string>;

const EMPTY: Directives = new Map();

/**
 * Parses a Cache-Control header value (a string, a list of lines, or absent). Commas inside a quoted
 * argument do not split directives (`foo="max-age=1, x"` is one directive). Unknown directives are kept;
 * a directive given twice keeps its first argument.
 */
export function parseCacheControl(value: string | number | readonly string[] | undefined): Directives {
  if (value === undefined) return EMPTY;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  if (text.trim() === '') return EMPTY;
  const directives = new Map<string, string>();
  for (const part of splitOutsideQuotes(text)) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    const argument = eq === -1 ? '' : unquote(part.slice(eq + 1).trim());
    if (!directives.has(name)) directives.set(name, argument);
  }
  return directives;
}

function splitOutsideQuotes(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted && char === '\\') i++;
    else if (char === '"') quoted = !quoted;
    else if (char === ',' && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** A quoted-string argument without its quotes and escapes; marks it so `seconds()` can refuse it. */
function unquote(argument: string): string {
  if (argument.length < 2 || !argument.startsWith('"') || !argument.endsWith('"')) return argument;
  return `${QUOTED}${argument.slice(1, -1).replace(/\\(.)/g, '$1')}`;
}
/** Prefix of an argument that was a quoted string (RFC 9111 §1.2.2: delta-seconds are never quoted). */
const QUOTED = '\u0000';

/**
 * A delta-seconds argument (RFC 9111 §1.2.2) in ms: undefined when the directive is absent, null when
 * it is present but not a valid delta-seconds (negative, quoted, fractional, empty): such a response is stale.
 * Values above 2^31 seconds count as 2^31 (§1.2.2).
 */
export function secondsDirective(directives: Directives, name: string): number | null | undefined {
  const argument = directives.get(name);
  if (argument === undefined) return undefined;
  if (!/^\d+$/.test(argument)) return null;
  return Math.min(Number(argument), 2 ** 31) * 1000;
}
