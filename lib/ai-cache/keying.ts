// Derives a call's key `ai:<model>:<hash>` and its lock key from the arguments that change the answer.
import { aiKey, hashCanonical } from '../redis';

/** Material for the hash: every argument with the given dot paths removed from object arguments. */
export function keyMaterialOmitting(paths: string[]): (args: unknown[]) => unknown {
  const split = paths.map((path) => path.split('.'));
  return (args) => args.map((arg) => split.reduce((value, path) => omitPath(value, path), arg));
}

function omitPath(value: unknown, path: string[]): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const [head, ...rest] = path as [string, ...string[]];
  if (!Object.hasOwn(value, head)) return value;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (rest.length === 0) delete copy[head];
  else copy[head] = omitPath(copy[head], rest);
  return copy;
}

/** What identifies one answer, besides the model. */
export interface KeyParts {
  model: string;
  material: unknown;
  namespace: string | undefined;
  version: string | number | undefined;
}

/**
 * `ai:<model>:<hash>` where hash = SHA-256 (32 hex) of the canonical JSON of
 * `{ input: material, ns: namespace, v: version }` (absent fields drop out, so adding no namespace
 * keeps old keys).
 */
export function entryKey(parts: KeyParts): string {
  return aiKey(parts.model, hashCanonical({ input: parts.material, ns: parts.namespace, v: parts.version }));
}

/** `ai:<model>:<hash>:lock`, the cross-process lock of one entry (only ever touched on its own). */
export function lockKey(key: string): string {
  return `${key}:lock`;
}

/** The channel a lock holder publishes the entry key on when it releases the lock. */
export const RELEASE_CHANNEL = 'ai:released';
