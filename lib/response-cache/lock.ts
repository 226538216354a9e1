// The cross-instance fill lock of one entry: SET NX PX with a random token, released only by its owner (compare-and-delete).
import { randomBytes } from 'node:crypto';
import { type Backend, defineScript, type MemoryStore } from '../redis';

/** A lock this request holds. */
export interface FillLock {
  key: string;
  token: string;
}

/** KEYS[1] = lock; ARGV[1] = token. Deletes the lock only when it still holds our token (1), else 0. */
export const LOCK_RELEASE = defineScript<number>({
  name: 'rmwApiLockRelease',
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
  memory(store: MemoryStore, keys: string[], args: string[]): number {
    const value = store.get<Buffer | string>(keys[0] as string);
    if (value === undefined || value.toString() !== args[0]) return 0;
    store.delete(keys[0] as string);
    return 1;
  },
});

/** Takes the lock for `ttlMs`; resolves to it, or undefined when another request (or instance) holds it. */
export async function acquireLock(backend: Backend, key: string, ttlMs: number): Promise<FillLock | undefined> {
  const token = randomBytes(12).toString('base64url');
  return (await backend.setIfAbsent(key, token, ttlMs)) ? { key, token } : undefined;
}

/** Releases the lock if we still own it (a lock that expired and was taken by another is left alone). */
export function releaseLock(backend: Backend, lock: FillLock | undefined): void {
  if (lock !== undefined) backend.run(LOCK_RELEASE, [lock.key], [lock.token]).catch(() => undefined);
}
