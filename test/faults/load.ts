// Steady HTTP load on the stack: paced workers on 127.0.0.1, every answer recorded with its latency.
import { setTimeout as delay } from 'node:timers/promises';

/** One answered (or failed) request. */
export interface Sample {
  route: string;
  status: number;
  /** When it was sent and how long the full answer took, in ms. */
  at: number;
  ms: number;
  /** For failures of the request itself (no HTTP answer): the error message. */
  error?: string;
}

export interface LoadOptions {
  /** Base URL of the stack. */
  url: string;
  /** Concurrent workers. @default 4 */
  workers?: number;
  /** Requests per second of each worker. @default 20 */
  ratePerWorker?: number;
  /** Session cookies the workers use for GET /me (one per user). */
  cookies: string[];
  /** Client IPs (X-Forwarded-For) the workers rotate through. @default 400 */
  ips?: number;
  /** Distinct AI inputs (small: most calls hit). @default 40 */
  aiInputs?: number;
  /** Pages of each cuisine's list the workers ask for. @default 2 */
  listPages?: number;
  /** Give up on a request after this long (counted as a failure). @default 10000 */
  requestTimeoutMs?: number;
  /** Keep every sample (false: counts only, for long runs whose memory is measured). @default true */
  keepSamples?: boolean;
  /** Answers slower than this are counted in `stats.slow`. @default 1020 */
  slowMs?: number;
}

/** Counts kept whether or not samples are. */
export interface LoadStats {
  answered: number;
  byStatus: Record<string, number>;
  maxMs: number;
  slow: number;
}

/** One kind of request the workers send. */
interface Shape {
  route: string;
  weight: number;
  make(n: number): { path: string; init: RequestInit };
}

const CUISINES = ['italian', 'mexican', 'indian', 'japanese', 'french'];

/** Logs a user in and returns the session cookie. */
export async function login(url: string, username: string, ip = '127.0.0.1'): Promise<string> {
  const res = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ username }),
  });
  if (res.status !== 200) throw new Error(`login of ${username} answered ${res.status}: ${await res.text()}`);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
  if (!cookie) throw new Error(`login of ${username} set no cookie`);
  return cookie.split(';')[0] as string;
}

/** A running load: its samples so far, and `stop()`. */
export class Load {
  readonly samples: Sample[] = [];
  readonly stats: LoadStats = { answered: 0, byStatus: {}, maxMs: 0, slow: 0 };
  private running = true;
  private readonly done: Promise<void>;
  private readonly shapes: Shape[];

  constructor(private readonly options: LoadOptions) {
    const ips = options.ips ?? 400;
    const aiInputs = options.aiInputs ?? 40;
    const ip = (n: number): string => `10.9.${Math.floor((n % ips) / 250)}.${(n % ips) % 250}`;
    const json = (n: number, method: string, body: unknown): RequestInit => ({
      method,
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip(n) },
      body: JSON.stringify(body),
    });
    const get = (n: number, cookie?: string): RequestInit => ({
      headers: { 'x-forwarded-for': ip(n), ...(cookie ? { cookie } : {}) },
    });
    this.shapes = [
      {
        route: 'GET /recipes',
        weight: 3,
        make: (n) => ({
          path: `/recipes?cuisine=${CUISINES[n % 5]}&page=${1 + (Math.floor(n / 5) % (options.listPages ?? 2))}`,
          init: get(n),
        }),
      },
      { route: 'GET /recipes/:id', weight: 4, make: (n) => ({ path: `/recipes/${10 + (n % 30)}`, init: get(n) }) },
      {
        route: 'GET /me',
        weight: 2,
        make: (n) => ({ path: '/me', init: get(n, options.cookies[n % options.cookies.length]) }),
      },
      {
        route: 'POST /ai/suggest',
        weight: 2,
        make: (n) => ({
          path: '/ai/suggest',
          init: json(n, 'POST', { ingredients: ['tomato', `spice-${n % aiInputs}`] }),
        }),
      },
      {
        route: 'PUT /recipes/:id',
        weight: 1,
        // Logged-in users only: the PUT carries one of the sessions.
        make: (n) => {
          const init = json(n, 'PUT', { minutes: 1 + (n % 100) });
          const cookie = options.cookies[n % options.cookies.length];
          return {
            path: `/recipes/${40 + (n % 10)}`,
            init: { ...init, headers: { ...init.headers, ...(cookie ? { cookie } : {}) } },
          };
        },
      },
      { route: 'GET /health', weight: 1, make: (n) => ({ path: '/health', init: get(n) }) },
    ];
    const workers = options.workers ?? 4;
    this.done = Promise.all(Array.from({ length: workers }, (_, w) => this.work(w, workers))).then(() => undefined);
  }

  /** Samples sent at or after `since`. */
  since(since: number): Sample[] {
    return this.samples.filter((s) => s.at >= since);
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private record(sample: Sample): void {
    const { stats } = this;
    stats.answered++;
    const key = `${sample.route} ${sample.status}`;
    stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
    stats.maxMs = Math.max(stats.maxMs, sample.ms);
    if (sample.ms > (this.options.slowMs ?? 1020)) stats.slow++;
    if (this.options.keepSamples ?? true) this.samples.push(sample);
  }

  private pick(n: number): Shape {
    const total = this.shapes.reduce((sum, s) => sum + s.weight, 0);
    let r = (n * 7919) % total;
    for (const shape of this.shapes) {
      if (r < shape.weight) return shape;
      r -= shape.weight;
    }
    return this.shapes[0] as Shape;
  }

  private async work(worker: number, workers: number): Promise<void> {
    const interval = 1000 / (this.options.ratePerWorker ?? 20);
    const timeout = this.options.requestTimeoutMs ?? 10_000;
    let n = worker;
    let next = Date.now();
    while (this.running) {
      const shape = this.pick(n);
      const { path, init } = shape.make(n);
      n += workers;
      const at = Date.now();
      try {
        const res = await fetch(`${this.options.url}${path}`, { ...init, signal: AbortSignal.timeout(timeout) });
        await res.arrayBuffer();
        this.record({ route: shape.route, status: res.status, at, ms: Date.now() - at });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.record({ route: shape.route, status: 0, at, ms: Date.now() - at, error: message });
      }
      // Pace: a steady rate, not a flood (a late worker does not burst to catch up).
      next = Math.max(next + interval, Date.now());
      const wait = next - Date.now();
      if (wait > 0) await delay(wait);
    }
  }
}
