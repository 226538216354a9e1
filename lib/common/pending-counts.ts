// How many invalidations each cache has waiting for Redis in this process, for the invalidations-pending gauge.

/** The caches whose invalidations can be pending: responseCache (`api`) and queryCache (`db`). */
export type PendingCache = 'api' | 'db';

const sources = new Map<PendingCache, () => number>();

/** Registers how to count a cache's pending invalidations (once per cache module, at load). */
export function countPendingWith(cache: PendingCache, count: () => number): void {
  sources.set(cache, count);
}

/** The pending invalidations of each cache module loaded in this process (targets for `api`, tables for `db`). */
export function pendingCounts(): Map<PendingCache, number> {
  return new Map([...sources].map(([cache, count]) => [cache, count()]));
}
