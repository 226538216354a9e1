// The HTTP scenarios, in run order: bare Express first and last, peers beside ours per concern, with the targets.
import { bentocacheInstalled } from './bentocache/bento';

/** A target a scenario must reach (ratio to bare Express, Redis commands sent per request, p99 in ms). */
export interface Target {
  ratio?: number;
  commands?: number;
  p99Ms?: number;
}

export interface Scenario {
  id: string;
  title: string;
  /** The server script, relative to bench/. */
  file: string;
  env?: Record<string, string>;
  ours: boolean;
  /** Log in first and send the session cookie with every request. */
  session?: boolean;
  target?: Target;
  /** Why it cannot run here, or undefined when it can. */
  unavailable?: () => string | undefined;
}

const BARE: Scenario = { id: 'bare', title: 'bare Express, ~1 KB JSON', file: 'servers/bare.ts', ours: false };
const noBento = () =>
  bentocacheInstalled()
    ? undefined
    : 'bentocache not installed (npm ci --prefix bench/bentocache failed or was skipped)';
const HIT_P99 = 15;

/** `npm run bench:rate-limit`: the limiter rows side by side (bare Express first and last, as always). */
export const RATE_LIMIT_GROUP = [
  'express-rate-limit',
  'rate-limiter-flexible',
  'rate-limit-1',
  'rate-limit-1-noheaders',
  'rate-limit',
] as const;
/** Of those, the ones profiled after the measured passes (bench:rate-limit), for where the µs go. */
export const RATE_LIMIT_PROFILED = ['rate-limiter-flexible', 'rate-limit-1', 'rate-limit'] as const;

export const SCENARIOS: readonly Scenario[] = [
  BARE,
  { id: 'apicache', title: 'apicache hit (memory)', file: 'servers/apicache.ts', ours: false },
  {
    id: 'bentocache-l2',
    title: 'bentocache L2 (Redis) hit',
    file: 'bentocache/server.ts',
    env: { BENTO_MODE: 'l2' },
    ours: false,
    unavailable: noBento,
  },
  {
    id: 'bentocache-l1l2',
    title: 'bentocache L1+L2 hit',
    file: 'bentocache/server.ts',
    env: { BENTO_MODE: 'l1l2' },
    ours: false,
    unavailable: noBento,
  },
  {
    id: 'response-cache',
    title: 'responseCache() hit',
    file: 'servers/response-cache.ts',
    ours: true,
    target: { ratio: 0.93, p99Ms: HIT_P99 },
  },
  {
    id: 'express-rate-limit',
    title: 'express-rate-limit + rate-limit-redis (1 fixed window)',
    file: 'servers/express-rate-limit.ts',
    ours: false,
  },
  {
    id: 'rate-limiter-flexible',
    title: 'rate-limiter-flexible RateLimiterRedis (1 fixed window)',
    file: 'servers/rate-limiter-flexible.ts',
    ours: false,
  },
  {
    id: 'rate-limit-1',
    title: 'rateLimit() 1 sliding window',
    file: 'servers/rate-limit.ts',
    env: { RL_WINDOWS: '1' },
    ours: true,
    target: { commands: 1 },
  },
  {
    id: 'rate-limit-1-noheaders',
    title: 'rateLimit() 1 sliding window, standardHeaders: false',
    file: 'servers/rate-limit.ts',
    env: { RL_WINDOWS: '1', RL_HEADERS: '0' },
    ours: true,
    target: { commands: 1 },
  },
  {
    id: 'rate-limit',
    title: 'rateLimit() 3 sliding windows',
    file: 'servers/rate-limit.ts',
    ours: true,
    target: { ratio: 0.85, commands: 1 },
  },
  {
    id: 'express-session',
    title: 'express-session + connect-redis 8.1, valid cookie',
    file: 'servers/express-session.ts',
    ours: false,
    session: true,
  },
  {
    id: 'sessions',
    title: 'sessions(), valid cookie',
    file: 'servers/sessions.ts',
    ours: true,
    session: true,
    target: { ratio: 0.65, commands: 1 },
  },
  {
    id: 'peer-stack',
    title: 'peer stack: express-session + rate-limiter-flexible + apicache hit',
    file: 'servers/peer-stack.ts',
    ours: false,
    session: true,
  },
  {
    id: 'stack',
    title: 'full stack: sessions() + rateLimit() 3 windows + responseCache() hit',
    file: 'servers/stack.ts',
    ours: true,
    session: true,
    target: { ratio: 0.6, p99Ms: HIT_P99 },
  },
  { ...BARE, id: 'bare-last', title: 'bare Express again (last)' },
];
