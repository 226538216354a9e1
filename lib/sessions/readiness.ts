// Follows a Redis client's readiness with one set of listeners per client, shared by every store on it.
import { EventEmitter } from 'node:events';
import type { RedisClient } from '../redis';

/** Client states in which commands would only wait in a queue. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end']);
/** Client events that make the client ready (true) or not (false). */
const STATE_EVENTS = { ready: true, close: false, end: false, reconnecting: false } as const;

/**
 * Emits `connect` / `disconnect` when the client becomes ready / stops being ready. A client that has
 * not connected yet counts as ready: its first commands wait in the bounded offline queue.
 */
export class ClientReadiness extends EventEmitter {
  private current: boolean;

  constructor(client: RedisClient) {
    super();
    this.setMaxListeners(0);
    this.current = !DOWN_STATES.has(client.status);
    for (const [event, ready] of Object.entries(STATE_EVENTS)) {
      client.on(event, () => this.update(ready));
    }
  }

  get ready(): boolean {
    return this.current;
  }

  private update(ready: boolean): void {
    if (ready === this.current) return;
    this.current = ready;
    this.emit(ready ? 'connect' : 'disconnect');
  }
}

const trackers = new WeakMap<RedisClient, ClientReadiness>();

/** The readiness tracker of a client, created on first use. */
export function readinessOf(client: RedisClient): ClientReadiness {
  let tracker = trackers.get(client);
  if (!tracker) {
    tracker = new ClientReadiness(client);
    trackers.set(client, tracker);
  }
  return tracker;
}
