// What a decision reports for one window, whichever limiter (the Redis script or the insurance) made it.
import type { WindowConfig } from './options';
import type { WindowState } from './types';

export function windowState(w: WindowConfig, consumedPoints: number, msBeforeNext: number): WindowState {
  return {
    window: w.label,
    windowMs: w.windowMs,
    limit: w.limit,
    consumedPoints,
    remainingPoints: Math.max(0, w.limit - consumedPoints),
    msBeforeNext,
  };
}
