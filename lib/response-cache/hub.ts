// State every responseCache on one backend shares: pub/sub invalidation, fill waiters, the invalidation log and vary specs.
import { randomUUID } from 'node:crypto';
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
import { idsOf, outboxFor, type ResponseOutbox } from './pending';
import { VarySpecs } from './vary-specs';

const debug = debugFor('response-cache');

/** The index keys (they live in generations.ts, beside the generation keys; re-exported for existing imports). */
export { pathIndexKey, routeIndexKey, tagIndexKey } from './generations';

/** The pub/sub channel every instance listens on. */
export const CHANNEL = 'redis-middleware:response-cache';
/** Invalidations remembered for the stale-set check. */
const LOG_LIMIT = 256;

/** What an invalidation targets. */
export interface InvalidationTarget {
  tags?: readonly string[];
  paths?: readonly string[];
  routes?: readonly string[];
}

/** How long another instance's invalidation keeps this process's L1 off its targets, if its end is never heard. */
const REMOTE_HOLD_MS = 10_000;

type Message = { o: string } & (
  | { t: 'begin' | 'inv'; tags: string[]; paths: string[]; routes: string[] }
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
  /** Targets another instance is invalidating right now (id → until when): kept out of the L1 meanwhile. */
  private readonly remote = new Map<string, number>();
  private readonly dropListeners = new Set<(target: LoggedInvalidation | { key: string }) => void>();
  private readonly fillWaiters = new KeyWaiters();
  /** The header names each endpoint's responses vary on. */
  readonly varySpecs: VarySpecs;
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
    varySpecLimit?: number,
  ) {
    this.varySpecs = new VarySpecs(backend, varySpecLimit);
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

  /**
   * True when the L1 must not hold the entry now: another instance is invalidating one of its targets,
   * or an invalidation after `sinceSeq` (when the lookup began) hits it.
   */
  keepsOutOfL1(entry: Pick<CachedResponse, 'tags' | 'path' | 'endpoint'>, sinceSeq = this.seq): boolean {
    if (this.invalidatedSince(sinceSeq, entry)) return true;
    if (this.remote.size === 0) return false;
    const now = Date.now();
    for (const id of idsOf({ tags: entry.tags, paths: [entry.path], routes: [entry.endpoint] })) {
      const until = this.remote.get(id);
      if (until === undefined) continue;
      if (until > now) return true;
      this.remote.delete(id);
    }
    return false;
  }

  /** True when an invalidation after `sinceSeq` hits the entry (the stale-set race: do not store it). */
  invalidatedSince(sinceSeq: number, entry: Pick<CachedResponse, 'tags' | 'path' | 'endpoint'>): boolean {
    return this.log.some((logged) => logged.seq > sinceSeq && matches(entry, logged));
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
    // Told first, so other instances stop using their L1 copies well before this invalidation's caller
    // hears it is done (pub/sub may deliver a message after the reply to the command that sent it).
    const begin: Message = { o: this.origin, t: 'begin', ...targets };
    this.backend.publish(CHANNEL, JSON.stringify(begin)).catch(() => undefined);
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
    } else if (message.t === 'inv' || message.t === 'begin') {
      const targets = { tags: message.tags ?? [], paths: message.paths ?? [], routes: message.routes ?? [] };
      const until = Date.now() + REMOTE_HOLD_MS;
      for (const id of idsOf(targets)) {
        if (message.t === 'begin') this.remote.set(id, until);
        else this.remote.delete(id);
      }
      this.record(targets);
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
