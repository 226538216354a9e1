// Generation tokens per route, path and tag: what a fill started under, so an invalidation during it is never lost.
import { randomBytes } from 'node:crypto';
import { apiKey, type Backend } from '../redis';

/**
 * How long a generation token lives after its last invalidation. A fill that takes longer than half
 * of it is not stored (its starting token could have expired and come back as "none").
 */
export const GENERATION_TTL_MS = 3_600_000;
/** Longest a handler may run and still have its response stored. */
export const MAX_FILL_MS = GENERATION_TTL_MS / 2;

/** The targets an entry can be invalidated by. */
export interface Targets {
  endpoint: string;
  path: string;
  tags: readonly string[];
}

/** The generations of an entry's targets when its fill started ('' where none exists). */
export interface Generations {
  route: string;
  path: string;
  tags: string[];
  /** When they were read (ms since the epoch). */
  at: number;
}

/** Index keys: one sorted set of entry keys per tag, per path and per route. */
export const tagIndexKey = (tag: string): string => apiKey(`#tag:${tag}`, 'idx');
export const pathIndexKey = (path: string): string => apiKey(`#path:${path}`, 'idx');
export const routeIndexKey = (endpoint: string): string => apiKey(endpoint, 'idx');

/** Generation keys, each beside its index (one hash tag). */
export const tagGenerationKey = (tag: string): string => apiKey(`#tag:${tag}`, 'gen');
export const pathGenerationKey = (path: string): string => apiKey(`#path:${path}`, 'gen');
export const routeGenerationKey = (endpoint: string): string => apiKey(endpoint, 'gen');

/** Taken sets: the members one invalidation attempt moved out of an index (deleted with them), beside the index. */
export const tagTakenKey = (tag: string, token: string): string => apiKey(`#tag:${tag}`, `taken.${token}`);
export const pathTakenKey = (path: string, token: string): string => apiKey(`#path:${path}`, `taken.${token}`);
export const routeTakenKey = (endpoint: string, token: string): string => apiKey(endpoint, `taken.${token}`);

/** A new generation token. */
export const newGeneration = (): string => randomBytes(9).toString('base64url');

/**
 * Reads the current generations of the targets (one GET per key, sent together: one round trip).
 * Must complete before the handler reads its data.
 */
export async function readGenerations(backend: Backend, targets: Targets): Promise<Generations> {
  const at = Date.now();
  const keys = [
    routeGenerationKey(targets.endpoint),
    pathGenerationKey(targets.path),
    ...targets.tags.map(tagGenerationKey),
  ];
  const values = await Promise.all(keys.map((key) => backend.get(key)));
  const [route, path, ...tags] = values.map((value) => (value ? value.toString('utf8') : ''));
  return { route: route as string, path: path as string, tags, at };
}
