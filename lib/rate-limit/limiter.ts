// The limiter core: one script call per decision, in-memory blocks, and the failure policy when Redis fails.
import { messageOf } from '../common/errors';
import { emitEvent } from '../common/events';
import { debugFor, warn } from '../common/log';
import { KEY_PREFIX, type MemoryBackend, rateTag, type ScriptReply } from '../redis';
import { BlockedKeys } from './blocked';
import { InsuranceLimiter } from './insurance';
import type { RateLimitConfig } from './options';
import { slidingWindowScript } from './script';
import type { DecisionSource, RateLimitDecision, WindowState } from './types';
import { windowState } from './window-state';

const debug = debugFor('rate-limit');

/** How often (at most) a Redis failure is printed as a warning line, per limiter. */
const WARN_INTERVAL_MS = 60_000;
/** Subjects whose keys are remembered; the memo is emptied when full (cheaper than an LRU, same hit rate for hot keys). */
const RECENT_KEYS = 10_000;

/** Decides, counts, reads and resets for one `rateLimit()` instance. */
export class Limiter {
  private readonly blocked: BlockedKeys | undefined;
  private readonly insurance: InsuranceLimiter | undefined;
  private readonly keySuffixes: string[];
  private readonly longestWindowMs: number;
  private lastWarning = 0;
  /** Keys of recently seen subjects (read-only arrays: callers never modify them). */
  private readonly recentKeys = new Map<string, string[]>();

  constructor(private readonly config: RateLimitConfig) {
    const onRedis = config.backend.kind === 'redis';
    this.blocked = onRedis && config.blockInMemory ? new BlockedKeys() : undefined;
    this.insurance =
      onRedis && config.onRedisError === 'insurance'
        ? new InsuranceLimiter(config.windows, config.insuranceKeys)
        : undefined;
    this.keySuffixes = config.windows.map((w) => `:${w.keySuffix}`);
    this.longestWindowMs = Math.max(...config.windows.map((w) => w.windowMs));
  }

  /** The Redis keys of one subject on one endpoint, one per window (`rate:{subject|endpoint}:1m`…). */
  keysOf(subject: string, endpoint: string): string[] {
    // Encoding the parts walks them character by character: remember the keys of recent subjects.
    const id = `${endpoint}\n${subject}`;
    const known = this.recentKeys.get(id);
    if (known) return known;
    const prefix = KEY_PREFIX.rate + rateTag(subject, endpoint);
    const keys = this.keySuffixes.map((suffix) => prefix + suffix);
    if (this.recentKeys.size >= RECENT_KEYS) this.recentKeys.clear();
    this.recentKeys.set(id, keys);
    return keys;
  }

  /** Checks every window and counts the request in all of them when all have room. Never rejects. */
  async consume(subject: string, endpoint: string, cost: number): Promise<RateLimitDecision> {
    const keys = this.keysOf(subject, endpoint);
    const tag = keys[0] as string;
    if (this.blocked) {
      const local = this.blocked.check(tag, cost);
      if (local) {
        emitEvent({ kind: 'limit', limiter: this.config.label, outcome: 'block' });
        return local;
      }
    }
    let reply: number[];
    try {
      reply = await this.run(keys, cost);
    } catch (error) {
      return this.onFailure(error, subject, endpoint, tag, cost);
    }
    const decision = this.toDecision(reply, subject, endpoint, cost, this.config.backend.kind);
    if (!decision.allowed && this.blocked) this.blocked.add(tag, decision);
    return decision;
  }

  /** The windows of a subject on an endpoint, without counting anything. */
  async peek(subject: string, endpoint: string): Promise<WindowState[]> {
    const reply = await this.run(this.keysOf(subject, endpoint), 0);
    return this.toDecision(reply, subject, endpoint, 0, this.config.backend.kind).windows;
  }

  /** Deletes a subject's counters on an endpoint (in Redis, the insurance limiter and this instance's blocks). */
  async reset(subject: string, endpoint: string): Promise<void> {
    const keys = this.keysOf(subject, endpoint);
    this.blocked?.delete(keys[0] as string);
    await this.insurance?.delete(keys[0] as string);
    await this.config.backend.del(...keys);
  }

  private async run(keys: string[], cost: number): Promise<number[]> {
    const args = [String(cost), ...this.config.windowArgs];
    const { backend, clock } = this.config;
    let reply: ScriptReply;
    if (clock && backend.kind === 'memory') {
      reply = slidingWindowScript.memory((backend as MemoryBackend).store, keys, args, clock());
    } else {
      reply = await backend.run(slidingWindowScript, keys, args);
    }
    if (!Array.isArray(reply) || reply.length !== 2 + keys.length * 2) {
      throw new Error(`rate limit script returned an unexpected reply: ${messageOf(reply)}`);
    }
    return reply.map(Number);
  }

  private toDecision(
    reply: number[],
    subject: string,
    endpoint: string,
    cost: number,
    source: DecisionSource,
  ): RateLimitDecision {
    const allowed = reply[0] === 1;
    const retry = reply[1] as number;
    const windows = this.config.windows.map((w, i) =>
      windowState(w, reply[2 + i * 2] as number, reply[3 + i * 2] as number),
    );
    return {
      allowed,
      retryAfterMs: allowed ? 0 : retry < 0 ? this.longestWindowMs : Math.max(1, retry),
      subject,
      endpoint,
      cost,
      source,
      windows,
    };
  }

  /** Redis failed: the documented policy decides, within the time the failed call already took. */
  private async onFailure(
    error: unknown,
    subject: string,
    endpoint: string,
    tag: string,
    cost: number,
  ): Promise<RateLimitDecision> {
    const { label, onRedisError } = this.config;
    emitEvent({ kind: 'limit', limiter: label, outcome: 'error' });
    debug('limiter %s: Redis failed (%s); policy %s', label, messageOf(error), onRedisError);
    const now = Date.now();
    if (now - this.lastWarning >= WARN_INTERVAL_MS) {
      this.lastWarning = now;
      warn(
        'W_RATE_LIMIT_REDIS_ERROR',
        `rateLimit ${label}: Redis failed (${messageOf(error)}); policy '${onRedisError}'`,
      );
    }
    const base = { subject, endpoint, cost, retryAfterMs: 0, windows: [] as WindowState[] };
    if (this.insurance) {
      try {
        const result = await this.insurance.consume(tag, cost);
        emitEvent({ kind: 'limit', limiter: label, outcome: 'insurance' });
        return { ...base, ...result, source: 'insurance' };
      } catch (insuranceError) {
        debug('limiter %s: insurance limiter failed too (%s); allowing', label, messageOf(insuranceError));
        return { ...base, allowed: true, source: 'allow' };
      }
    }
    if (onRedisError === 'deny') return { ...base, allowed: false, retryAfterMs: 1000, source: 'deny' };
    return { ...base, allowed: true, source: 'allow' };
  }
}
