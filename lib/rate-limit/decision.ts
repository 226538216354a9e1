// A decision as the limiter made it: the counts per window, with the RateLimiterRes-shaped window states built only when read.
import type { WindowConfig } from './options';
import type { DecisionSource, RateLimitDecision, WindowState } from './types';
import { windowState } from './window-state';

/** No windows (Redis failed and the policy is allow or deny). */
const NONE: readonly WindowConfig[] = [];

/**
 * One decision. The headers read the counts directly ({@link Decision.used}, {@link Decision.nextMs});
 * `windows`, the per-window objects of `res.locals.rateLimit`, is built on first read, so a request whose
 * decision nobody inspects allocates none of them. `JSON.stringify` includes `windows`.
 */
export class Decision implements RateLimitDecision {
  readonly #config: readonly WindowConfig[];
  /** `used, nextMs` per window, in option order. */
  readonly #counts: readonly number[];
  #windows: WindowState[] | undefined;

  constructor(
    readonly allowed: boolean,
    readonly retryAfterMs: number,
    readonly subject: string,
    readonly endpoint: string,
    readonly cost: number,
    readonly source: DecisionSource,
    config: readonly WindowConfig[] = NONE,
    counts: readonly number[] = NONE as unknown as number[],
  ) {
    this.#config = config;
    this.#counts = counts;
  }

  /** Number of windows the decision reports (0 when Redis failed and the policy is allow or deny). */
  get size(): number {
    return this.#config.length;
  }

  /** The window configuration of window `i`. */
  windowAt(i: number): WindowConfig {
    return this.#config[i] as WindowConfig;
  }

  /** Units counted in window `i`, this request included when it passed. */
  used(i: number): number {
    return this.#counts[2 * i] as number;
  }

  /** Ms until more units of window `i` become available (0 when nothing is counted). */
  nextMs(i: number): number {
    return this.#counts[2 * i + 1] as number;
  }

  get windows(): WindowState[] {
    if (this.#windows === undefined) {
      this.#windows = this.#config.map((w, i) => windowState(w, this.used(i), this.nextMs(i)));
    }
    return this.#windows;
  }

  /** The same decision for another request: another cost and source, `elapsed` ms later (in-memory blocks). */
  later(cost: number, source: DecisionSource, retryAfterMs: number, elapsed: number): Decision {
    const counts = this.#counts.map((value, i) => (i % 2 === 1 ? Math.max(0, value - elapsed) : value));
    return new Decision(this.allowed, retryAfterMs, this.subject, this.endpoint, cost, source, this.#config, counts);
  }

  toJSON(): RateLimitDecision {
    const { allowed, retryAfterMs, subject, endpoint, cost, source, windows } = this;
    return { allowed, retryAfterMs, subject, endpoint, cost, source, windows };
  }
}
