// Generation tokens per route, path and tag: what a fill started under, so an invalidation during it is never lost.
import { randomBytes } from 'node:crypto';
import { apiKey, type Backend, deleteIfHolds } from '../redis';
import { GENERATION_READ } from './index-scripts';

/**
 * How long a generation token lives after its last invalidation, or after a fill created it. A fill
 * reading a generation with less than `MAX_FILL_MS` left extends it to this.
 */
export const GENERATION_TTL_MS = 3_600_000;
/**
 * Longest a handler may run and still have its response stored (a generation read by a fill lives at
 * least this long, so only eviction or an invalidation can change it meanwhile).
 */
export const MAX_FILL_MS = GENERATION_TTL_MS / 2;

/** The targets an entry can be invalidated by. */
export interface Targets {
  endpoint: string;
  path: string;
  tags: readonly string[];
}

/** The generations of an entry's targets when its fill started (each a real token: see `readGenerations`). */
export interface Generations {
  route: string;
  path: string;
  tags: string[];
  /** When they were read (ms since the epoch). */
  at: number;
  /** The generations this fill created, as [key, token]: deleted again when nothing is stored (no litter). */
  created: Array<[string, string]>;
}

/** Index keys: one sorted set of entry keys per tag, per path and per route. */
export const tagIndexKey = (tag: string): string => apiKey(`#tag:${tag}`, 'idx');
export const pathIndexKey = (path: string): string => apiKey(`#path:${path}`, 'idx');
export const routeIndexKey = (endpoint: string): string => apiKey(endpoint, 'idx');

/** Generation keys, each beside its index (one hash tag). */
export const tagGenerationKey = (tag: string): string => apiKey(`#tag:${tag}`, 'gen');
export const pathGenerationKey = (path: string): string => apiKey(`#path:${path}`, 'gen');
export const routeGenerationKey = (endpoint: string): string => apiKey(endpoint, 'gen');

/** A new generation token. */
export const newGeneration = (): string => randomBytes(9).toString('base64url');

/**
 * Reads the current generations of the targets, creating each missing one with a fresh random token
 * (`GENERATION_READ`: one script per key, since each has its own hash tag, sent together with the
 * lock's `SET NX`: the round trip the miss makes anyway). Must complete before the handler reads its
 * data. A generation that is missing later (evicted, expired, lost in a failover) then reads as
 * changed, and the fill is not stored. Every attempt offers a new token (a token set by an attempt
 * whose reply was lost is one no fill started under).
 */
export async function readGenerations(backend: Backend, targets: Targets): Promise<Generations> {
  const at = Date.now();
  const keys = [
    routeGenerationKey(targets.endpoint),
    pathGenerationKey(targets.path),
    ...targets.tags.map(tagGenerationKey),
  ];
  const offered = keys.map(newGeneration);
  const values = await Promise.all(
    keys.map((key, i) => backend.run(GENERATION_READ, [key], [offered[i] as string, GENERATION_TTL_MS, MAX_FILL_MS])),
  );
  const tokens = values.map((value) => (Buffer.isBuffer(value) ? value.toString('utf8') : String(value)));
  const created: Array<[string, string]> = [];
  tokens.forEach((token, i) => {
    if (token === offered[i]) created.push([keys[i] as string, token]);
  });
  const [route, path, ...tags] = tokens;
  return { route: route as string, path: path as string, tags, at, created };
}

/**
 * Deletes the generations a fill created when its response is not stored, each only while it still
 * holds the fill's token (an invalidation since then set one that stays). So a request whose response
 * is not stored (400, 404, private…) leaves no key behind. Deleting a generation is always safe: a
 * fill that read it then finds it changed and does not store. Never rejects.
 */
export async function releaseCreated(backend: Backend, generations: Generations | undefined): Promise<void> {
  const created = generations?.created.splice(0) ?? [];
  await Promise.all(created.map(([key, token]) => deleteIfHolds(backend, key, [token]).catch(() => false)));
}
