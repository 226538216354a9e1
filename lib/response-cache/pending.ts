// responseCache on the shared outbox: one per Redis client; what it holds is neither served nor stored by this process.
import { type Backend, Outbox } from '../redis';
import type { CachedResponse } from './entry';
import { describeTargets, type TargetLists } from './errors';

/** Code of the one warning line printed when an outage makes the first invalidation pending. */
export const PENDING_WARNING = 'W_RESPONSE_CACHE_INVALIDATION_PENDING';
/** Most taken-set tokens remembered per target (one per failed attempt whose script may still have run). */
const TOKENS_PER_TARGET = 64;

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

/** The targets of ids made by `idsOf`. */
export function targetsOf(ids: readonly string[]): TargetLists {
  const targets: TargetLists = { tags: [], paths: [], routes: [] };
  for (const id of ids) {
    const at = id.indexOf(':');
    const name = id.slice(at + 1);
    const kind = id.slice(0, at);
    (kind === 'tag' ? targets.tags : kind === 'path' ? targets.paths : targets.routes).push(name);
  }
  return targets;
}

/** One attempt to invalidate in Redis, with what earlier failed attempts left behind. */
export interface Attempt {
  targets: TargetLists;
  /** Entry keys earlier attempts took from indexes but could not delete. */
  keys: readonly string[];
  /** Per target id, the tokens of earlier attempts (their taken sets may hold what their lost replies carried). */
  tokens: ReadonlyMap<string, readonly string[]>;
}

/** Why an attempt failed, and what it leaves for the next one. */
export class AttemptFailure extends Error {
  constructor(
    readonly error: unknown,
    /** Entry keys taken from indexes but not deleted. */
    readonly keys: readonly string[],
    /** Per target id, the token of this attempt's taken set. */
    readonly tokens: ReadonlyMap<string, string>,
  ) {
    super('invalidation attempt failed');
  }
}

/**
 * The outbox of one Redis client (every hub on it shares it), with what failed attempts left behind:
 * the entry keys they took but could not delete and the tokens of their taken sets.
 */
export class ResponseOutbox {
  readonly outbox: Outbox<number>;
  private readonly keys = new Set<string>();
  private readonly tokens = new Map<string, string[]>();

  constructor(apply: (attempt: Attempt) => Promise<number>) {
    this.outbox = new Outbox<number>({
      concern: 'response-cache',
      code: PENDING_WARNING,
      meanwhile: 'serves responses from their handlers (X-Cache: BYPASS)',
      describe: (ids) => describeTargets(targetsOf(ids)),
      onIdle: (idle) => (idle ? active.delete(this) : active.add(this)),
      send: async (ids) => {
        const keys = [...this.keys];
        const tokens = new Map(ids.map((id) => [id, this.tokens.get(id) ?? []]));
        try {
          const deleted = await apply({ targets: targetsOf(ids), keys, tokens });
          for (const key of keys) this.keys.delete(key);
          for (const id of ids) this.tokens.delete(id);
          return deleted;
        } catch (failure) {
          if (!(failure instanceof AttemptFailure)) throw failure;
          for (const key of failure.keys) this.keys.add(key);
          for (const [id, token] of failure.tokens) {
            const known = [...(this.tokens.get(id) ?? []), token];
            this.tokens.set(id, known.slice(-TOKENS_PER_TARGET));
          }
          throw failure.error;
        }
      },
    });
  }

  /** Why a response carrying these targets must be neither served nor stored now; undefined when nothing is pending. */
  reasonFor(identity: Identity): string | undefined {
    const { outbox } = this;
    if (outbox.size === 0) return undefined;
    const pending = (kind: string, name: string): string =>
      `an invalidation of ${kind} ${JSON.stringify(name)} has not reached Redis yet`;
    if (outbox.has(routeId(identity.endpoint))) return pending('route', identity.endpoint);
    if (outbox.has(pathId(identity.path))) return pending('path', identity.path);
    for (const tag of identity.tags) if (outbox.has(tagId(tag))) return pending('tag', tag);
    return undefined;
  }
}

const byScope = new WeakMap<object, ResponseOutbox>();
/** The outboxes with something pending. */
const active = new Set<ResponseOutbox>();

/** The outbox of a backend's scope (its Redis client), created with the first hub's `apply`. */
export function outboxFor(backend: Backend, apply: (attempt: Attempt) => Promise<number>): ResponseOutbox {
  let outbox = byScope.get(backend.scope);
  if (!outbox) {
    outbox = new ResponseOutbox(apply);
    byScope.set(backend.scope, outbox);
  }
  return outbox;
}

/** True while any invalidation of this process is pending (the hit path's only cost when none is). */
export function anyPending(): boolean {
  return active.size > 0;
}

/** True while an invalidation is pending for caches on one of these clients (for tests and diagnostics). */
export function pendingOn(...scopes: object[]): boolean {
  return scopes.some((scope) => (byScope.get(scope)?.outbox.size ?? 0) > 0);
}

/** Why a response carrying these targets must be neither served nor stored now, for caches on `scope`. */
export function pendingReason(identity: Identity, scope: object): string | undefined {
  return active.size === 0 ? undefined : byScope.get(scope)?.reasonFor(identity);
}
