// responseCache on the shared outbox: one per Redis client; what it holds is neither served nor stored by this process.
import { countPendingWith } from '../common/pending-counts';
import { type Backend, Outbox } from '../redis';
import type { CachedResponse } from './entry';
import { describeTargets, type TargetLists } from './errors';

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

/** The outbox of one Redis client (every hub on it shares it), and what it holds back. */
export class ResponseOutbox extends Outbox<number> {
  constructor(apply: (targets: TargetLists) => Promise<number>) {
    super({
      concern: 'response-cache',
      code: PENDING_WARNING,
      meanwhile: 'serves responses from their handlers (X-Cache: BYPASS)',
      describe: (ids) => describeTargets(targetsOf(ids)),
      onIdle: (idle) => (idle ? active.delete(this) : active.add(this)),
      send: (ids) => apply(targetsOf(ids)),
    });
  }

  /** Why a response carrying these targets must be neither served nor stored now; undefined when nothing is pending. */
  reasonFor(identity: Identity): string | undefined {
    if (this.size === 0) return undefined;
    const pending = (kind: string, name: string): string =>
      `an invalidation of ${kind} ${JSON.stringify(name)} has not reached Redis yet`;
    if (this.has(routeId(identity.endpoint))) return pending('route', identity.endpoint);
    if (this.has(pathId(identity.path))) return pending('path', identity.path);
    for (const tag of identity.tags) if (this.has(tagId(tag))) return pending('tag', tag);
    return undefined;
  }
}

const byScope = new WeakMap<object, ResponseOutbox>();
/** The outboxes with something pending. */
const active = new Set<ResponseOutbox>();
countPendingWith('api', () => {
  let targets = 0;
  for (const outbox of active) targets += outbox.size;
  return targets;
});

/** The outbox of a backend's scope (its Redis client), created with the first hub's `apply`. */
export function outboxFor(backend: Backend, apply: (targets: TargetLists) => Promise<number>): ResponseOutbox {
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
  return scopes.some((scope) => (byScope.get(scope)?.size ?? 0) > 0);
}

/** Why a response carrying these targets must be neither served nor stored now, for caches on `scope`. */
export function pendingReason(identity: Identity, scope: object): string | undefined {
  return active.size === 0 ? undefined : byScope.get(scope)?.reasonFor(identity);
}
