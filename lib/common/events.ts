// The one way every middleware reports what it did: typed events on a process-wide bus (metrics adapters listen).
import { EventEmitter } from 'node:events';
import type { BypassReason, SkipReason, StaleReason } from './reasons';

/** Which cache an event is about, as the `cache` label of metrics. */
export type CacheName = 'api' | 'ai' | 'db';

/** Everything the middlewares report. Listeners must be cheap: they run on the request path. */
export type MiddlewareEvent =
  | {
      kind: 'cache';
      cache: CacheName;
      /** hit, miss, stale (served stale), store (written: sizes before and after compression) */
      outcome: 'hit' | 'miss' | 'stale' | 'store';
      /** On `store`: bytes before and after compression. */
      rawBytes?: number;
      storedBytes?: number;
      /** On `stale`: why a stale entry was served, from `staleReasons`. */
      reason?: StaleReason;
      /** A sentence for debug lines: never a metric label. */
      detail?: string;
    }
  | {
      kind: 'cache';
      cache: CacheName;
      /** The lookup did not use the cache (the origin ran), for `reason`. */
      outcome: 'bypass';
      /** Why, from the closed list `bypassReasons` (the metric label). */
      reason: BypassReason;
      /** A sentence for debug lines (may name keys, headers, errors): never a metric label. */
      detail?: string;
    }
  | {
      kind: 'cache';
      cache: CacheName;
      /** The result was not stored, for `reason`. */
      outcome: 'skip';
      /** Why, from the closed list `skipReasons` (the metric label). */
      reason: SkipReason;
      /** A sentence for debug lines (may name keys, headers, errors): never a metric label. */
      detail?: string;
      /** On `too-large`: the size that was refused. */
      rawBytes?: number;
    }
  | { kind: 'limit'; limiter: string; outcome: 'allow' | 'reject' | 'throttle' | 'insurance' | 'block' | 'error' }
  | { kind: 'session'; outcome: 'store-error' | 'fresh-start' | 'too-large' }
  | { kind: 'redis'; operation: string; durationMs: number; error?: string };

const bus = new EventEmitter();
bus.setMaxListeners(0);

/** Subscribes to every middleware event; returns the function that unsubscribes. */
export function onEvent(listener: (event: MiddlewareEvent) => void): () => void {
  bus.on('event', listener);
  return () => bus.off('event', listener);
}

/** Reports an event; costs nothing when nobody listens. */
export function emitEvent(event: MiddlewareEvent): void {
  if (bus.listenerCount('event') > 0) bus.emit('event', event);
}

/** Whether anyone listens (to skip building costly events, e.g. timing every Redis call). */
export function hasEventListeners(): boolean {
  return bus.listenerCount('event') > 0;
}
