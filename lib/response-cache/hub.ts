// State every responseCache on one backend shares: pub/sub invalidation, vary specs, fill waiters and the invalidation log.
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { messageOf } from '../common/errors';
import { debugFor } from '../common/log';
import { KeyWaiters } from '../common/waiters';
import type { Backend } from '../redis';
import type { CachedResponse } from './entry';
import { describeTargets, ResponseInvalidationError, type TargetLists } from './errors';
import {
  GENERATION_TTL_MS,
  newGeneration,
  pathGenerationKey,
  pathIndexKey,
  routeGenerationKey,
  routeIndexKey,
  tagGenerationKey,
  tagIndexKey,
} from './generations';
import { INVALIDATE } from './index-scripts';
import { varySpecKey } from './key';
import { idsOf, outboxFor, type ResponseOutbox } from './pending';

const debug = debugFor('response-cache');

/** The index keys (they live in generations.ts, beside the generation keys; re-exported for existing imports). */
export { pathIndexKey, routeIndexKey, tagIndexKey } from './generations';

/** The pub/sub channel every instance listens on. */
export const CHANNEL = 'redis-middleware:response-cache';
/** How long a vary spec learnt from Redis is trusted before it is read again. */
const VARY_SPEC_REFRESH_MS = 60_000;
/** Most endpoints whose vary spec one process remembers. */
const VARY_SPEC_LIMIT = 10_000;
/** How long the vary spec key lives in Redis (refreshed by every store). */
export const VARY_SPEC_TTL_MS = 24 * 3_600_000;
/** Invalidations remembered for the stale-set check. */
const LOG_LIMIT = 256;

/** What an invalidation targets. */
export interface InvalidationTarget {
  tags?: readonly string[];
  paths?: readonly string[];
  routes?: readonly string[];
}

type Message = { o: string } & (
  | { t: 'inv'; tags: string[]; paths: string[]; routes: string[] }
  | { t: 'fill'; key: string }
);

interface LoggedInvalidation {
  seq: number;
  tags: Set<string>;
  paths: Set<string>;
  routes: Set<string>;
}

/** Whether an entry is hit by an invalidation. */
export function matches(
  entry: Pick<CachedResponse, 'tags' | 'path' | 'endpoint'>,
  target: LoggedInvalidation,
): boolean {
  return (
    target.routes.has(entry.endpoint) || target.paths.has(entry.path) || entry.tags.some((tag) => target.tags.has(tag))
  );
}

export class CacheHub {
  /** Increases with every invalidation seen (local or from another instance). */
  seq = 0;
  private readonly log: LoggedInvalidation[] = [];
  private readonly dropListeners = new Set<(target: LoggedInvalidation | { key: string }) => void>();
  private readonly fillWaiters = new KeyWaiters();
  /** Vary specs by endpoint: bounded (with `app.use`, every path is an endpoint) and re-read after a minute. */
  private readonly varySpecs: LRUCache<string, string[]>;
  private subscribing: Promise<void> | undefined;
  /** True once the invalidation channel is subscribed: only then may a process-local copy be trusted. */
  subscribed = false;
  /** Identifies this process's messages, which it ignores when they come back. */
  private readonly origin = randomUUID();
  /** Invalidations on their way to Redis, and those retried in the background (shared by the hubs of one client). */
  readonly outbox: ResponseOutbox;
  /** What pending invalidations are looked up by (see `pendingReason`). */
  readonly scope: object;

  constructor(
    readonly backend: Backend,
    varySpecLimit = VARY_SPEC_LIMIT,
  ) {
    this.varySpecs = new LRUCache({ max: varySpecLimit, ttl: VARY_SPEC_REFRESH_MS });
    this.outbox = outboxFor(backend, (targets) => this.apply(targets));
    this.scope = backend.scope;
  }

  /** Subscribes to the channel (once; retried on a later call after a failure). */
  ensureSubscribed(): void {
    if (this.subscribed || this.subscribing) return;
    this.subscribing = this.backend
      .subscribe(CHANNEL, (message) => this.onMessage(message))
      .then(
        () => {
          this.subscribed = true;
        },
        (error: unknown) => debug('subscribe to %s failed: %s', CHANNEL, String(error)),
      )
      .finally(() => {
        this.subscribing = undefined;
      });
  }

  /** Registers a process-local cache that must drop what an invalidation or a refill replaces. */
  onDrop(listener: (target: LoggedInvalidation | { key: string }) => void): void {
    this.dropListeners.add(listener);
  }

  /** True when an invalidation after `sinceSeq` hits the entry (the stale-set race: do not store it). */
  invalidatedSince(sinceSeq: number, entry: Pick<CachedResponse, 'tags' | 'path' | 'endpoint'>): boolean {
    return this.log.some((logged) => logged.seq > sinceSeq && matches(entry, logged));
  }

  /** The header names an endpoint's responses vary on, when this process knows them (read within the last minute). */
  knownVarySpec(endpoint: string): string[] | undefined {
    return this.varySpecs.get(endpoint);
  }

  /** How many endpoints' vary specs this process remembers (bounded). */
  get knownVarySpecs(): number {
    return this.varySpecs.size;
  }

  /** Remembers the vary spec of an endpoint as read from Redis (`null`: none stored yet); returns the names. */
  rememberVarySpec(endpoint: string, stored: Buffer | null): string[] {
    let names: string[] = [];
    try {
      const parsed: unknown = stored ? JSON.parse(stored.toString('utf8')) : [];
      if (Array.isArray(parsed)) names = parsed.filter((name): name is string => typeof name === 'string');
    } catch {
      debug('unreadable vary spec for %s: ignored', endpoint);
    }
    this.varySpecs.set(endpoint, names);
    return names;
  }

  /** Records the vary spec of an endpoint when a response declares a different one. */
  async learnVary(endpoint: string, names: string[]): Promise<void> {
    const known = this.varySpecs.get(endpoint);
    if (known && known.join(',') === names.join(',')) return;
    this.varySpecs.set(endpoint, names);
    debug('vary spec of %s is now [%s]', endpoint, names.join(', '));
    await this.backend.set(varySpecKey(endpoint), JSON.stringify(names), VARY_SPEC_TTL_MS);
  }

  /** Waits until another process (or request) announces it filled `key`, or `timeoutMs` passes. */
  waitForFill(key: string, timeoutMs: number): Promise<void> {
    return this.fillWaiters.wait(key, timeoutMs);
  }

  /** Tells every instance that `key` was (re)filled: their local copies are dropped and waiters wake. */
  async announceFill(key: string): Promise<void> {
    this.fillWaiters.wake(key);
    await this.backend.publish(CHANNEL, JSON.stringify({ o: this.origin, t: 'fill', key } satisfies Message));
  }

  /**
   * Drops every entry of the targets, here and on every instance; resolves to the number of entries
   * deleted. When Redis cannot be reached the targets become pending in this process (neither served
   * nor stored here, retried in the background) and it rejects with `ResponseInvalidationError`.
   */
  async invalidate(target: InvalidationTarget): Promise<number> {
    const targets: TargetLists = {
      tags: [...(target.tags ?? [])],
      paths: [...(target.paths ?? [])],
      routes: [...(target.routes ?? [])],
    };
    this.record(targets);
    try {
      return await this.outbox.send(idsOf(targets));
    } catch (error) {
      throw new ResponseInvalidationError(targets, error);
    }
  }

  /**
   * One attempt in Redis: per target, atomically, a new generation (fills under way will not commit)
   * and the index's live members read; then the members deleted and every instance told. The index
   * keeps its members (they expire by score), so a retry after a lost reply finds them again.
   */
  private async apply(targets: TargetLists): Promise<number> {
    const indexes = [
      ...targets.tags.map((tag) => [tagIndexKey(tag), tagGenerationKey(tag)]),
      ...targets.paths.map((path) => [pathIndexKey(path), pathGenerationKey(path)]),
      ...targets.routes.map((route) => [routeIndexKey(route), routeGenerationKey(route)]),
    ];
    const taken = await Promise.allSettled(
      indexes.map((keys) => this.backend.run(INVALIDATE, keys, [newGeneration(), GENERATION_TTL_MS])),
    );
    // The members are entry keys and the pending copies of fills that indexed them (see store.ts).
    const members = new Set<string>();
    for (const result of taken) {
      if (result.status === 'rejected') throw result.reason;
      for (const member of result.value) members.add(String(member));
    }
    const deleted = await this.backend.del(...members);
    // Record again: a request that filled an entry while the indexes were being read must not keep it locally.
    this.record(targets);
    const message: Message = { o: this.origin, t: 'inv', ...targets };
    try {
      await this.backend.publish(CHANNEL, JSON.stringify(message));
    } catch (cause) {
      // Redis is already clean; other instances drop their L1 copies within localTtl.
      debug('could not publish the invalidation of %s: %s', describeTargets(targets), messageOf(cause));
    }
    debug('invalidated %d entries of %s', deleted, describeTargets(targets));
    return deleted;
  }

  private record(message: { tags: string[]; paths: string[]; routes: string[] }): void {
    const logged = {
      seq: ++this.seq,
      tags: new Set(message.tags),
      paths: new Set(message.paths),
      routes: new Set(message.routes),
    };
    this.log.push(logged);
    if (this.log.length > LOG_LIMIT) this.log.shift();
    for (const listener of this.dropListeners) listener(logged);
  }

  private onMessage(text: string): void {
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (message.o === this.origin) return;
    if (message.t === 'fill' && typeof message.key === 'string') {
      for (const listener of this.dropListeners) listener({ key: message.key });
      this.fillWaiters.wake(message.key);
    } else if (message.t === 'inv') {
      this.record({ tags: message.tags ?? [], paths: message.paths ?? [], routes: message.routes ?? [] });
    }
  }
}

const hubs = new WeakMap<Backend, CacheHub>();

/** The hub of a backend (one per backend, shared by every responseCache on it). */
export function hubFor(backend: Backend): CacheHub {
  let hub = hubs.get(backend);
  if (!hub) {
    hub = new CacheHub(backend);
    hubs.set(backend, hub);
  }
  return hub;
}
