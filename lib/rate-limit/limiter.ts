// The limiter core: one script call per decision, in-memory blocks, and the failure policy when Redis fails.
import { messageOf } from '../common/errors';
import { emitEvent } from '../common/events';
import { debugFor, warn } from '../common/log';
import { Memo } from '../common/memo';
import { KEY_PREFIX, type MemoryBackend, rateTag, type ScriptDefinition, type ScriptReply } from '../redis';
import { BlockedKeys } from './blocked';
import { Decision } from './decision';
import { InsuranceLimiter } from './insurance';
import type { RateLimitConfig } from './options';
import { slidingWindowScript } from './script';
import type { WindowState } from './types';

const debug = debugFor('rate-limit');

/** How often (at most) a Redis failure is printed as a warning line, per limiter. */
const WARN_INTERVAL_MS = 60_000;
/** Subjects whose keys are remembered per endpoint. */
const RECENT_KEYS = 10_000;
/** Endpoints whose subjects' keys are remembered (route patterns: few). */
const RECENT_ENDPOINTS = 1000;

/** Decides, counts, reads and resets for one `rateLimit()` instance. */
export class Limiter {
  private readonly blocked: BlockedKeys | undefined;
  private readonly insurance: InsuranceLimiter | undefined;
  private readonly keySuffixes: string[];
  private readonly longestWindowMs: number;
  private lastWarning = 0;
  /** Keys of recently seen subjects by endpoint (read-only arrays: callers never modify them). */
  private readonly recentKeys = new Memo<string, Memo<string, string[]>>(RECENT_ENDPOINTS);
  /** The script of this limiter's windows (their sizes and limits are written into it). */
  private readonly script: ScriptDefinition<ScriptReply>;

  constructor(private readonly config: RateLimitConfig) {
    const onRedis = config.backend.kind === 'redis';
    this.blocked = onRedis && config.blockInMemory ? new BlockedKeys() : undefined;
    this.insurance =
      onRedis && config.onRedisError === 'insurance'
        ? new InsuranceLimiter(config.windows, config.insuranceKeys)
        : undefined;
    this.keySuffixes = config.windows.map((w) => `:${w.keySuffix}`);
    this.longestWindowMs = Math.max(...config.windows.map((w) => w.windowMs));
    this.script = slidingWindowScript(config.windows);
  }

  /** The Redis keys of one subject on one endpoint, one per window (`rate:{subject|endpoint}:1m`…). */
  keysOf(subject: string, endpoint: string): string[] {
    // Encoding the parts walks them character by character: remember the keys of recent subjects, per
    // endpoint (route patterns: few), so a hit costs two map lookups and builds no string.
    let bySubject = this.recentKeys.get(endpoint);
    if (bySubject === undefined) {
      bySubject = new Memo(RECENT_KEYS);
      this.recentKeys.set(endpoint, bySubject);
    }
    const known = bySubject.get(subject);
    if (known) return known;
    const prefix = KEY_PREFIX.rate + rateTag(subject, endpoint);
    const keys = this.keySuffixes.map((suffix) => prefix + suffix);
    bySubject.set(subject, keys);
    return keys;
  }

  /** Checks every window and counts the request in all of them when all have room. Never rejects. */
  consume(subject: string, endpoint: string, cost: number): Promise<Decision> {
    const keys = this.keysOf(subject, endpoint);
    const tag = keys[0] as string;
    if (this.blocked) {
      const local = this.blocked.check(tag, cost);
      if (local) {
        emitEvent({ kind: 'limit', limiter: this.config.label, outcome: 'block' });
        return Promise.resolve(local);
      }
    }
    // One reaction on the script's promise: the reply is checked here (an odd reply is a Redis failure).
    return this.run(keys, cost).then(
      (reply) => {
        let decision: Decision;
        try {
          decision = this.toDecision(checkReply(reply, keys), subject, endpoint, cost);
        } catch (error) {
          return this.onFailure(error, subject, endpoint, tag, cost);
        }
        if (!decision.allowed && this.blocked) this.blocked.add(tag, decision);
        return decision;
      },
      (error: unknown) => this.onFailure(error, subject, endpoint, tag, cost),
    );
  }

  /** The windows of a subject on an endpoint, without counting anything. */
  async peek(subject: string, endpoint: string): Promise<WindowState[]> {
    const keys = this.keysOf(subject, endpoint);
    const reply = checkReply(await this.run(keys, 0), keys);
    return this.toDecision(reply, subject, endpoint, 0).windows;
  }

  /** Deletes a subject's counters on an endpoint (in Redis, the insurance limiter and this instance's blocks). */
  async reset(subject: string, endpoint: string): Promise<void> {
    const keys = this.keysOf(subject, endpoint);
    this.blocked?.delete(keys[0] as string);
    await this.insurance?.delete(keys[0] as string);
    await this.config.backend.del(...keys);
  }

  /** One script call; resolves to its raw reply, rejects when Redis fails. */
  private run(keys: string[], cost: number): Promise<ScriptReply> {
    const args = cost === 1 ? UNIT_COST : [String(cost)];
    const { backend, clock } = this.config;
    if (clock && backend.kind === 'memory') {
      try {
        return Promise.resolve(this.script.memory((backend as MemoryBackend).store, keys, args, clock()));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return backend.run(this.script, keys, args);
  }

  private toDecision(reply: number[], subject: string, endpoint: string, cost: number): Decision {
    const allowed = reply[0] === 1;
    const retry = reply[1] as number;
    return new Decision(
      allowed,
      allowed ? 0 : retry < 0 ? this.longestWindowMs : Math.max(1, retry),
      subject,
      endpoint,
      cost,
      this.config.backend.kind,
      this.config.windows,
      reply.slice(2),
    );
  }

  /** Redis failed: the documented policy decides, within the time the failed call already took. */
  private async onFailure(
    error: unknown,
    subject: string,
    endpoint: string,
    tag: string,
    cost: number,
  ): Promise<Decision> {
    const { label, onRedisError } = this.config;
    emitEvent({ kind: 'limit', limiter: label, outcome: 'error' });
    debug('limiter %s: Redis failed (%s); policy %s', label, messageOf(error), onRedisError);
    const now = Date.now();
    if (now - this.lastWarning >= WARN_INTERVAL_MS) {
      this.lastWarning = now;
      warn(
        'W_RATE_LIMIT_REDIS_ERROR',
        `rateLimit ${label} on ${endpoint}: Redis failed (${messageOf(error)}); policy '${onRedisError}' (one line per ${WARN_INTERVAL_MS / 1000} s while it lasts)`,
      );
    }
    if (this.insurance) {
      try {
        const result = await this.insurance.consume(tag, cost);
        emitEvent({ kind: 'limit', limiter: label, outcome: 'insurance' });
        const { allowed, retryAfterMs, counts } = result;
        return new Decision(allowed, retryAfterMs, subject, endpoint, cost, 'insurance', this.config.windows, counts);
      } catch (insuranceError) {
        debug('limiter %s: insurance limiter failed too (%s); allowing', label, messageOf(insuranceError));
        return new Decision(true, 0, subject, endpoint, cost, 'allow');
      }
    }
    if (onRedisError === 'deny') return new Decision(false, 1000, subject, endpoint, cost, 'deny');
    return new Decision(true, 0, subject, endpoint, cost, 'allow');
  }
}

/** The script's ARGV for a request of cost 1, the usual one (never modified). */
const UNIT_COST = ['1'];

/**
 * The script's reply as numbers: `allowed, retryAfterMs`, then `used, nextMs` per key. Redis replies
 * integers, so the reply array (fresh per call, ours) is converted in place only where it holds anything else.
 */
function checkReply(reply: ScriptReply, keys: string[]): number[] {
  if (!Array.isArray(reply) || reply.length !== 2 + keys.length * 2) {
    throw new Error(`rate limit script returned an unexpected reply: ${messageOf(reply)}`);
  }
  for (let i = 0; i < reply.length; i++) {
    const value = reply[i];
    if (typeof value !== 'number') reply[i] = Number(value);
  }
  return reply as number[];
}
