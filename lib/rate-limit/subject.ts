// Who and what a request is limited as: the subject (user, else IP grouped by prefix) and the endpoint (route pattern).
import { isIPv4, isIPv6 } from 'node:net';
import type { Request } from 'express';
import { warnOnce } from '../common/log';
import { DEFAULT_ENDPOINT, routeEndpoint } from './endpoint';
import type { RateLimitConfig } from './options';

export { DEFAULT_ENDPOINT };

/**
 * An IP address as a subject part: IPv4 as is, IPv4-mapped IPv6 (`::ffff:192.0.2.1`) unwrapped to IPv4,
 * other IPv6 reduced to its `/prefix` network (`2001:db8:1:2::/64`), so rotating addresses inside one
 * allocation shares one budget.
 */
export function ipGroup(ip: string, prefix: 48 | 56 | 64): string {
  if (!ip.includes(':')) return ip;
  // Fast path for the common dual-stack form of an IPv4 client.
  if (ip.startsWith('::ffff:') && isIPv4(ip.slice(7))) return ip.slice(7);
  const zone = ip.indexOf('%');
  const address = zone >= 0 ? ip.slice(0, zone) : ip;
  if (!isIPv6(address)) return ip;
  const words = ipv6Words(address);
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    const hi = words[6] as number;
    const lo = words[7] as number;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  const kept = words.slice(0, prefix === 48 ? 3 : 4);
  if (prefix === 56) kept[3] = (kept[3] as number) & 0xff00;
  return `${kept.map((word) => word.toString(16)).join(':')}::/${prefix}`;
}

/** The eight 16-bit words of a valid IPv6 address (with `::` and a trailing dotted IPv4 expanded). */
function ipv6Words(address: string): number[] {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const middle = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((word) => Number.parseInt(word, 16));
}

/** Computes subjects and endpoints for one limiter. */
export class SubjectResolver {
  private checkedTrustProxy = false;

  constructor(private readonly config: RateLimitConfig) {}

  /**
   * The subject: `key(req)` when given and defined, else `u<user id>`, else `ip<address or prefix>`
   * (Express's `req.ip`, which honours `trust proxy`).
   */
  subjectOf(req: Request): string {
    if (this.config.key) {
      const custom = this.config.key(req);
      if (custom !== undefined) {
        if (typeof custom !== 'string' || custom === '') {
          throw new TypeError(`key option must return a non-empty string or undefined; returned ${typeof custom}`);
        }
        return custom;
      }
    }
    const user = this.config.userId(req);
    if (user !== undefined && user !== '') return `u${user}`;
    if (!this.checkedTrustProxy) this.checkTrustProxy(req);
    const ip = req.ip;
    return ip === undefined || ip === '' ? 'ip-unknown' : `ip${ipGroup(ip, this.config.ipv6Prefix)}`;
  }

  /**
   * The endpoint: the `name` option, else the full route pattern (see {@link routeEndpoint}), else
   * {@link DEFAULT_ENDPOINT}. Never the raw URL.
   */
  endpointOf(req: Request): string {
    if (this.config.name !== undefined) return this.config.name;
    const route = (req as Request & { route?: Record<string, unknown> }).route;
    if (route === undefined || route === null || route.path === undefined) return DEFAULT_ENDPOINT;
    return routeEndpoint(req, route);
  }

  private checkTrustProxy(req: Request): void {
    this.checkedTrustProxy = true;
    if (req.app?.get('trust proxy') === true) {
      warnOnce(
        'W_RATE_LIMIT_TRUST_PROXY',
        "rateLimit: Express 'trust proxy' is true, so any client can pick its IP with X-Forwarded-For; set it to the number of proxies in front of the app (e.g. 1) or their addresses",
      );
    }
  }
}
