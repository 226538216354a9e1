// Invalidations that could not reach Redis: until a background retry succeeds, this process neither serves nor stores what they target.
import { messageOf } from '../common/errors';
import { debugFor, warn } from '../common/log';
import type { CachedResponse } from './entry';
import { describeTargets, type TargetLists } from './errors';

const debug = debugFor('response-cache');

/** First wait before a retry; it doubles after each failed retry, up to MAX_RETRY_MS. */
export const FIRST_RETRY_MS = 100;
/** Longest wait between two retries. */
export const MAX_RETRY_MS = 5000;
/** Most targets, and most leftover keys, one retry sends to Redis (the rest follow at once after a success). */
const RETRY_BATCH = 500;
/** Most taken-set tokens remembered per target (one per failed attempt whose script may still have run). */
const TOKENS_PER_TARGET = 64;
/** Code of the one warning line printed when an outage makes the first invalidation pending. */
export const PENDING_WARNING = 'W_RESPONSE_CACHE_INVALIDATION_PENDING';

/** What decides whether an entry (or a request about to fill one) is hit by a pending invalidation. */
export interface Identity {
  tags: readonly string[];
  path: CachedResponse['path'];
  endpoint: CachedResponse['endpoint'];
}

/** A target as one string: `tag:<tag>`, `path:<path>`, `route:<endpoint>`. */
export const tagId = (tag: string): string => `tag:${tag}`;
export const pathId = (path: string): string => `path:${path}`;
export const routeId = (route: string): string => `route:${route}`;

/** The ids of the targets, in the order tags, paths, routes. */
export function idsOf(targets: TargetLists): string[] {
  return [...targets.tags.map(tagId), ...targets.paths.map(pathId), ...targets.routes.map(routeId)];
}

/** One attempt to invalidate in Redis. */
export interface Attempt {
  targets: TargetLists;
  /** Entry keys earlier attempts took from indexes but could not delete. */
  keys: readonly string[];
  /** Per target id, the tokens of earlier attempts (their taken sets may hold what their lost replies carried). */
  tokens: ReadonlyMap<string, readonly string[]>;
}

/** The outcome of one attempt. */
export interface AttemptOutcome {
  deleted: number;
  /** Set when the attempt failed. */
  failure?: {
    error: unknown;
    /** Entry keys taken from indexes but not deleted. */
    keys: string[];
    /** Per target id, the token of this attempt's taken set. */
    tokens: ReadonlyMap<string, string>;
  };
}

/**
 * Every hub (one per backend: client and redisTimeout) with something pending. The checks look at
 * all of those of the same scope (the Redis client), so an invalidation that failed through
 * `responseCache.invalidator({ redis })` also holds back a `responseCache({ redis, redisTimeout: '200ms' })`.
 */
const active = new Set<PendingInvalidations>();

/** The scope pending invalidations are shared in: the Redis client under the backend (else the backend itself). */
export function scopeOf(backend: object): object {
  const client = (backend as { client?: unknown }).client;
  return typeof client === 'object' && client !== null ? client : backend;
}

/** True while any invalidation of this process is pending (a size check: the hit path's only cost). */
export function anyPending(): boolean {
  return active.size > 0;
}

/** True while an invalidation is pending for caches on one of these clients (for tests and diagnostics). */
export function pendingOn(...scopes: object[]): boolean {
  for (const pending of active) if (scopes.includes(pending.scope)) return true;
  return false;
}

/**
 * Why a response carrying these targets must be neither served nor stored now, for caches on
 * `scope` (see `scopeOf`); undefined when nothing it carries is pending.
 */
export function pendingReason(identity: Identity, scope: object): string | undefined {
  if (active.size === 0) return undefined;
  for (const pending of active) {
    if (pending.scope !== scope) continue;
    const reason = pending.reasonFor(identity);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

interface PendingTarget {
  /** Sequence number of the failure that last added it. */
  stamp: number;
  tokens: string[];
}

/**
 * The targets of one hub's invalidations that failed, with the entry keys an attempt took but could
 * not delete. Each is stamped with the sequence number of the failure that added it, so an
 * invalidation that succeeds clears only what was pending when it began.
 */
export class PendingInvalidations {
  private readonly targets = new Map<string, PendingTarget>();
  private readonly keys = new Map<string, number>();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private delayMs = FIRST_RETRY_MS;
  private since = 0;

  constructor(
    /** Caches on this scope (see `scopeOf`) are held back by what is pending here. */
    readonly scope: object,
    private readonly attempt: (attempt: Attempt) => Promise<AttemptOutcome>,
  ) {}

  /** Targets pending in this hub. */
  get size(): number {
    return this.targets.size;
  }

  /** Snapshot for an invalidation starting now: its stamp (for `settle`), leftover keys, earlier tokens. */
  begin(targets: TargetLists): { mark: number; keys: string[]; tokens: Map<string, string[]> } {
    const tokens = new Map<string, string[]>();
    if (this.targets.size > 0) {
      for (const id of idsOf(targets)) {
        const pending = this.targets.get(id);
        if (pending) tokens.set(id, [...pending.tokens]);
      }
    }
    return { mark: this.seq, keys: this.keys.size === 0 ? [] : [...this.keys.keys()], tokens };
  }

  /** Why a response carrying these targets must be neither served nor stored now (this hub only; see `pendingReason`). */
  reasonFor(identity: Identity): string | undefined {
    if (this.targets.size === 0) return undefined;
    const pending = (kind: string, name: string): string =>
      `an invalidation of ${kind} ${JSON.stringify(name)} has not reached Redis yet`;
    if (this.targets.has(routeId(identity.endpoint))) return pending('route', identity.endpoint);
    if (this.targets.has(pathId(identity.path))) return pending('path', identity.path);
    for (const tag of identity.tags) if (this.targets.has(tagId(tag))) return pending('tag', tag);
    return undefined;
  }

  /** Targets whose invalidation failed: pending until a retry (or another invalidation of them) succeeds. */
  add(targets: TargetLists, failure: NonNullable<AttemptOutcome['failure']>): void {
    // One warning line per outage of this client (other clients may be failing on their own).
    const first = this.targets.size === 0 && this.keys.size === 0;
    this.remember(idsOf(targets), failure, true);
    if (first) {
      this.since = Date.now();
      warn(
        PENDING_WARNING,
        `an invalidation could not reach Redis (${messageOf(failure.error)}): this process serves responses ` +
          `carrying ${describeTargets(targets)} (and any target that fails next) from their handlers ` +
          '(X-Cache: BYPASS) and retries in the background until Redis takes it',
      );
    } else {
      debug('invalidation of %s pending too: %s', describeTargets(targets), messageOf(failure.error));
    }
    this.schedule();
  }

  /** An invalidation that began at `mark` reached Redis: what it covered and was pending before it began clears. */
  settle(targets: TargetLists, keys: readonly string[], mark: number): void {
    if (this.targets.size === 0 && this.keys.size === 0) return;
    for (const id of idsOf(targets)) {
      const pending = this.targets.get(id);
      if (pending && pending.stamp <= mark) this.targets.delete(id);
    }
    for (const key of keys) {
      const stamp = this.keys.get(key);
      if (stamp !== undefined && stamp <= mark) this.keys.delete(key);
    }
    if (this.targets.size === 0 && this.keys.size === 0) {
      active.delete(this);
      clearTimeout(this.timer);
      this.timer = undefined;
      this.delayMs = FIRST_RETRY_MS;
      debug(
        'pending invalidations reached Redis after %d ms; cached responses are served again%s',
        Date.now() - this.since,
        active.size > 0 ? ' (others, through another client, are still pending)' : '',
      );
    }
  }

  /**
   * Records a failure: its targets (re-stamped when `restamp`, else only added back if an
   * invalidation cleared them meanwhile), its taken-set tokens and the keys it could not delete.
   */
  private remember(ids: readonly string[], failure: NonNullable<AttemptOutcome['failure']>, restamp: boolean): void {
    const stamp = ++this.seq;
    for (const id of ids) {
      let pending = this.targets.get(id);
      if (!pending) {
        pending = { stamp, tokens: [] };
        this.targets.set(id, pending);
      } else if (restamp) {
        pending.stamp = stamp;
      }
      const token = failure.tokens.get(id);
      if (token !== undefined) pending.tokens.push(token);
      if (pending.tokens.length > TOKENS_PER_TARGET)
        pending.tokens.splice(0, pending.tokens.length - TOKENS_PER_TARGET);
    }
    for (const key of failure.keys) this.keys.set(key, stamp);
    active.add(this);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.running || (this.targets.size === 0 && this.keys.size === 0)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.retry();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Sends one batch of what is pending; on failure waits longer (bounded) before the next. */
  private async retry(): Promise<void> {
    if ((this.scope as { status?: unknown }).status === 'end') {
      // The application closed this client for good: nothing can reach that Redis, and no cache can serve from it.
      debug('client closed with invalidations pending; giving them up');
      this.targets.clear();
      this.keys.clear();
      active.delete(this);
      return;
    }
    const mark = this.seq;
    const batch: TargetLists = { tags: [], paths: [], routes: [] };
    const tokens = new Map<string, string[]>();
    const ids: string[] = [];
    for (const [id, pending] of this.targets) {
      if (ids.length >= RETRY_BATCH) break;
      ids.push(id);
      tokens.set(id, [...pending.tokens]);
      const at = id.indexOf(':');
      const kind = id.slice(0, at);
      const name = id.slice(at + 1);
      if (kind === 'tag') batch.tags.push(name);
      else if (kind === 'path') batch.paths.push(name);
      else batch.routes.push(name);
    }
    const keys: string[] = [];
    for (const key of this.keys.keys()) {
      if (keys.length >= RETRY_BATCH) break;
      keys.push(key);
    }
    this.running = true;
    let outcome: AttemptOutcome;
    try {
      outcome = await this.attempt({ targets: batch, keys, tokens });
    } catch (error) {
      outcome = { deleted: 0, failure: { error, keys: [], tokens: new Map() } };
    } finally {
      this.running = false;
    }
    if (outcome.failure) {
      debug('retrying the invalidation of %s failed: %s', describeTargets(batch), messageOf(outcome.failure.error));
      // Still pending (again, if another invalidation cleared them meanwhile: this attempt may have taken their keys).
      this.remember(ids, outcome.failure, false);
      this.delayMs = Math.min(this.delayMs * 2, MAX_RETRY_MS);
    } else {
      this.settle(batch, keys, mark);
      this.delayMs = FIRST_RETRY_MS;
    }
    this.schedule();
  }
}
