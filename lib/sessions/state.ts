// Per-request facts the helpers need: which sessions() instance handled the request, and whether its store was unavailable.
import type { Request } from 'express';
import type { SessionsConfig } from './options';

/** What the middleware records about one request. */
export interface RequestState {
  config: SessionsConfig;
  /** True when the request went on without a session because the store was down or failed. */
  unavailable: boolean;
  /** Why, for the error the helpers raise. */
  reason?: unknown;
}

const states = new WeakMap<Request, RequestState>();

export function setRequestState(req: Request, state: RequestState): void {
  states.set(req, state);
}

export function requestState(req: Request): RequestState | undefined {
  return states.get(req);
}
