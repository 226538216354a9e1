// Parses an HTTP-date (RFC 9110 §5.6.7) in its three formats, strictly: anything else is invalid.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete) */
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994` (obsolete) */
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Milliseconds since the epoch, or undefined when the value is absent, repeated or not an HTTP-date. */
export function parseHttpDate(value: string | number | readonly string[] | undefined, now: number): number | undefined {
  if (value === undefined || typeof value === 'number') return undefined;
  if (typeof value !== 'string') {
    if (value.length !== 1) return undefined; // several lines: not one date
    return parseHttpDate(value[0], now);
  }
  let match = IMF_FIXDATE.exec(value);
  if (match) return utc(Number(match[3]), match[2], match[1], match.slice(4, 7));
  match = RFC850.exec(value);
  if (match) return utc(fullYear(Number(match[3]), now), match[2], match[1], match.slice(4, 7));
  match = ASCTIME.exec(value);
  if (match) return utc(Number(match[7]), match[1], match[2], match.slice(3, 6));
  return undefined;
}

function utc(year: number, month: string | undefined, day: string | undefined, time: string[]): number | undefined {
  const [hours, minutes, seconds] = time.map(Number) as [number, number, number];
  const monthIndex = MONTHS.indexOf(month ?? '');
  const dayOfMonth = Number((day ?? '').trim());
  if (hours > 23 || minutes > 59 || seconds > 60 || dayOfMonth < 1 || dayOfMonth > 31) return undefined;
  return Date.UTC(year, monthIndex, dayOfMonth, hours, minutes, seconds);
}

/** RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is the most recent such year in the past. */
function fullYear(twoDigits: number, now: number): number {
  const current = new Date(now).getUTCFullYear();
  let year = current - (current % 100) + twoDigits;
  if (year > current + 50) year -= 100;
  return year;
}
