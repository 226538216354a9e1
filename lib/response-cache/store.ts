// Stores an entry so that no invalidation is lost (the stale-set race): generations read before the handler, a pending copy, indexed adds, an atomic commit.

import { randomBytes } from 'node:crypto';
import { messageOf } from '../common/errors';
import { emitEvent } from '../common/events';
import { redisFailureReason, type SkipReason } from '../common/reasons';
import { debug, type RequestContext, type Shared } from './context';
import { type CachedResponse, encodeEntry, storageMs } from './entry';
import {
  type Generations,
  MAX_FILL_MS,
  pathGenerationKey,
  pathIndexKey,
  readGenerations,
  releaseCreated,
  routeGenerationKey,
  routeIndexKey,
  type Targets,
  tagGenerationKey,
  tagIndexKey,
} from './generations';
import { INDEX_ADD, STORE_COMMIT } from './index-scripts';
import { pendingReason } from './pending';

/** What a fill learns before its handler runs: the response's tags and the generations of its targets. */
export interface FillStart {
  /** The tags (computed from the request), or why they could not be. */
  tags: string[] | { error: string };
  /** The generations, or undefined when they could not be read (then nothing is stored). */
  generations: Promise<Generations | undefined>;
}

/** The route's tags for this request, computed once (an error when `tags()` threw). */
export function tagsOf(ctx: RequestContext, shared: Shared): FillStart['tags'] {
  if (ctx.tags === undefined) {
    try {
      ctx.tags = shared.config.tags ? [...shared.config.tags(ctx.req)].map(String) : [];
    } catch (error) {
      ctx.tags = { error: `tags() threw: ${messageOf(error)}` };
    }
  }
  return ctx.tags;
}

/** The targets a response to this request carries: its endpoint, invalidation path and tags. */
export function identityOf(ctx: RequestContext, shared: Shared): Targets {
  const tags = tagsOf(ctx, shared);
  return { endpoint: ctx.base.endpoint, path: ctx.base.invalidationPath, tags: Array.isArray(tags) ? tags : [] };
}

/**
 * Computes the tags and starts reading the generations (once per request). Callers start it in
 * parallel with the lock; the handler must not run before `generations` settles.
 */
export function startFill(ctx: RequestContext, shared: Shared): FillStart {
  if (ctx.fillStart) return ctx.fillStart;
  const tags = tagsOf(ctx, shared);
  const targets = identityOf(ctx, shared);
  const generations = readGenerations(shared.config.backend, targets).catch((error: unknown) => {
    debug('could not read the generations of %s: %s', ctx.key, messageOf(error));
    return undefined;
  });
  ctx.fillStart = { tags, generations };
  return ctx.fillStart;
}

/** A fill that will store nothing: the generations it created go again (no key left behind). */
export function abandonFill(ctx: RequestContext, shared: Shared): void {
  if (ctx.fillStart)
    void ctx.fillStart.generations.then((generations) => releaseCreated(shared.config.backend, generations));
}

/**
 * Stores an entry whose handler ran under `generations`, then tells every instance. Failures only log.
 *
 * 1. `SET` a pending copy (a key of its own, never read as an entry).
 * 2. Per target (route, path, each tag; one script per hash tag, sent together): add the entry key
 *    (and, for paths and tags, the pending key) to the target's index AND read its generation, in one
 *    atomic step. An invalidation sets a new generation and takes the index in one atomic step too,
 *    so for each target either the invalidation saw our keys (and deletes the entry and the pending
 *    copy) or we see its new generation (and do not commit).
 * 3. Commit (one script on the endpoint's hash tag): rename the pending copy to the entry only when
 *    the route's generation is unchanged and the pending copy still exists.
 */
export async function store(
  ctx: RequestContext,
  shared: Shared,
  key: string,
  entry: CachedResponse,
  generations: Generations,
): Promise<void> {
  const { backend } = shared.config;
  const pendingKey = `${key}.fill.${randomBytes(6).toString('base64url')}`;
  const skip = (reason: SkipReason, detail: string): void => {
    shared.local.delete(key);
    void releaseCreated(backend, generations);
    debug('not stored %s: %s (%s)', key, reason, detail);
    emitEvent({ kind: 'cache', cache: 'api', outcome: 'skip', reason, detail });
  };
  try {
    if (Date.now() - generations.at > MAX_FILL_MS)
      return skip('slow-handler', `the handler ran longer than ${MAX_FILL_MS} ms`);
    const encoded = await encodeEntry(entry, shared.config.compressAbove);
    const ttlMs = storageMs(entry);
    await backend.set(pendingKey, encoded, ttlMs);
    const add = (index: string, generationKey: string, generation: string, members: string[]) =>
      backend.run(INDEX_ADD, [index, generationKey], [generation, ttlMs, ...members]);
    const checks = await Promise.all([
      add(routeIndexKey(entry.endpoint), routeGenerationKey(entry.endpoint), generations.route, [key]),
      add(pathIndexKey(entry.path), pathGenerationKey(entry.path), generations.path, [key, pendingKey]),
      ...entry.tags.map((tag, i) =>
        add(tagIndexKey(tag), tagGenerationKey(tag), generations.tags[i] ?? '', [key, pendingKey]),
      ),
      shared.hub.varySpecs.learn(entry.endpoint, entry.vary).then(() => 1),
    ]);
    const unchanged =
      checks.every((check) => check === 1) &&
      !shared.hub.invalidatedSince(ctx.seq, entry) &&
      pendingReason(entry, shared.hub.scope) === undefined;
    const committed =
      unchanged &&
      (await backend.run(STORE_COMMIT, [routeGenerationKey(entry.endpoint), pendingKey, key], [generations.route])) ===
        1;
    if (!committed) {
      if (!unchanged) await backend.del(pendingKey);
      return skip('invalidated', 'invalidated while the handler ran (generation changed)');
    }
    // Only now may this process keep a copy: Redis holds the entry. An invalidation seen since the
    // lookup started (here or from another instance) rules it out; one whose message arrives later drops it.
    if (pendingReason(entry, shared.hub.scope) === undefined) shared.local.set(key, entry, ctx.seq);
    await shared.hub.announceFill(key).catch((error: unknown) => {
      // Stored all the same; the other instances' L1 copies of the key end within localTtl.
      debug('could not announce the fill of %s: %s', key, messageOf(error));
    });
    debug('stored %s (%d bytes, fresh %d ms)', key, encoded.length, entry.freshMs);
    emitEvent({
      kind: 'cache',
      cache: 'api',
      outcome: 'store',
      rawBytes: entry.body.length,
      storedBytes: encoded.length,
    });
  } catch (error) {
    shared.local.delete(key);
    skip(redisFailureReason(error), `could not store: ${messageOf(error)}`);
    backend.del(pendingKey).catch(() => undefined);
    void releaseCreated(backend, generations);
  }
}
