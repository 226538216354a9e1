// The Express request handler: subject and cost, one decision, headers, then next(), a delay (throttle) or a 429.
import type { NextFunction, Request, Response } from 'express';
import { describe } from '../common/duration';
import { emitEvent, hasEventListeners } from '../common/events';
import { debugFor } from '../common/log';
import { Memo } from '../common/memo';
import type { Decision } from './decision';
import { type Policy, policyOf, sendTooManyRequests, sendUnavailable, setLimitHeaders } from './headers';
import type { Limiter } from './limiter';
import type { RateLimitConfig } from './options';
import type { SubjectResolver } from './subject';

const debug = debugFor('rate-limit');

/** Endpoints whose policy items are remembered per limiter (route patterns: few). */
const MAX_POLICIES = 1000;

/** Resolves after `ms`, or early with false when the client goes away. The timer never holds the process. */
function wait(ms: number, res: Response): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    timer.unref();
    res.once('close', onClose);
  });
}

/** For decisions without windows (Redis failed, policy allow or deny): no policy headers. */
const NO_POLICY: Policy = { names: [], header: '', items: [], clash: '' };

/** Builds the middleware function of one limiter. */
export function createHandler(
  config: RateLimitConfig,
  limiter: Limiter,
  subjects: SubjectResolver,
): (req: Request, res: Response, next: NextFunction) => void {
  const { label } = config;
  // Policy items are named after the limiter's name or, without one, its endpoint (bounded: route patterns).
  const named = config.name === undefined ? undefined : policyOf(config.name, config.windows);
  const policies = new Memo<string, Policy>(MAX_POLICIES);
  const policyFor = (endpoint: string): Policy => {
    if (named) return named;
    let policy = policies.get(endpoint);
    if (policy === undefined) {
      policy = policyOf(endpoint, config.windows);
      policies.set(endpoint, policy);
    }
    return policy;
  };

  const costOf = (req: Request): number => {
    const cost = config.cost;
    if (typeof cost === 'number') return cost;
    const value = cost(req);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new TypeError(`cost option must return a whole number of at least 1; returned ${describe(value)}`);
    }
    return value;
  };

  const finish = (req: Request, res: Response, next: NextFunction, decision: Decision): void => {
    res.locals.rateLimit = decision;
    setLimitHeaders(res, config, decision.size > 0 ? policyFor(decision.endpoint) : NO_POLICY, decision);
    if (decision.allowed) {
      if (decision.source !== 'block' && hasEventListeners()) {
        emitEvent({ kind: 'limit', limiter: label, outcome: 'allow' });
      }
      next();
      return;
    }
    if (decision.source === 'deny') {
      sendUnavailable(res);
      return;
    }
    if (decision.source !== 'block') emitEvent({ kind: 'limit', limiter: label, outcome: 'reject' });
    debug(
      'limiter %s: %s rejected on %s by %s; retry in %d ms',
      label,
      decision.subject,
      decision.endpoint,
      fullWindows(decision),
      decision.retryAfterMs,
    );
    if (config.handler) config.handler(req, res, next, decision);
    else sendTooManyRequests(res, decision);
  };

  /** Throttle mode: waits and asks again while the request does not fit and may still wait. */
  const throttle = async (res: Response, first: Decision, subject: string, endpoint: string, cost: number) => {
    let decision = first;
    const deadline = Date.now() + config.maxWaitMs;
    while (!decision.allowed && Date.now() + decision.retryAfterMs <= deadline) {
      emitEvent({ kind: 'limit', limiter: label, outcome: 'throttle' });
      debug('limiter %s: delaying %s by %d ms', label, subject, decision.retryAfterMs);
      if (!(await wait(decision.retryAfterMs, res))) {
        debug('limiter %s: client of %s left while throttled', label, subject);
        return undefined;
      }
      decision = await limiter.consume(subject, endpoint, cost);
    }
    return decision;
  };

  return function rateLimitMiddleware(req: Request, res: Response, next: NextFunction): void {
    let subject: string;
    let endpoint: string;
    let cost: number;
    try {
      if (config.skip?.(req)) {
        next();
        return;
      }
      subject = subjects.subjectOf(req);
      endpoint = subjects.endpointOf(req);
      cost = costOf(req);
    } catch (error) {
      next(error);
      return;
    }
    // One promise reaction per request: the limiter never rejects, and a throwing handler goes to next(err).
    // (No named closure is created per request: tsx's keepNames would give each a defineProperty call.)
    limiter.consume(subject, endpoint, cost).then((decision) => {
      try {
        if (config.throttle && !decision.allowed && decision.source !== 'deny') {
          throttle(res, decision, subject, endpoint, cost).then((late) => {
            try {
              if (late) finish(req, res, next, late);
            } catch (error) {
              next(error);
            }
          }, next);
        } else {
          finish(req, res, next, decision);
        }
      } catch (error) {
        next(error);
      }
    }, next);
  };
}

/** The windows that had no room for the request, for the log line: `window 1m (10 of 10 used)`. */
function fullWindows(decision: Decision): string {
  const full: string[] = [];
  for (let i = 0; i < decision.size; i++) {
    const { label, limit } = decision.windowAt(i);
    const used = decision.used(i);
    if (used + decision.cost > limit) full.push(`window ${label} (${used} of ${limit} used)`);
  }
  if (full.length > 0) return full.join(', ');
  return decision.source === 'block' ? 'an in-memory block' : `the ${decision.source} limiter`;
}
