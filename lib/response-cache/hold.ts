// Holds a response (head and body, streamed or not) while a promise settles, through ServerResponse's public methods only.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

type Method = (...args: unknown[]) => unknown;

/** Applies the headers given to `writeHead` (object, flat or nested raw arrays) to the response, as on-headers does. */
export function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    const pairs = Array.isArray(headers[0]) ? (headers as unknown[][]) : [];
    if (pairs.length === 0) for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([headers[i], headers[i + 1]]);
    for (const [name, value] of pairs) res.setHeader(String(name), value as string);
  } else if (headers && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value);
    }
  }
}

/**
 * Calls `onHead` when the handler first writes the head or any body (`writeHead`, `write`, `end`,
 * `flushHeaders`), once the status and headers are set. When it returns a promise, everything the
 * handler writes is queued, in order, until the promise settles, then written through the methods the
 * response had before (so outer middleware's header hooks still run); when it returns undefined the
 * response goes through untouched. The wrappers stay in place and pass through afterwards, so a
 * middleware that wrapped the methods after this one (compression) keeps working.
 */
export function holdResponse(res: ServerResponse, onHead: () => Promise<unknown> | undefined): void {
  const original = {
    writeHead: res.writeHead as Method,
    write: res.write as Method,
    end: res.end as Method,
    flushHeaders: res.flushHeaders as Method,
  };
  let state: 'open' | 'held' | 'through' = 'open';
  const queue: Array<() => void> = [];

  const release = (): void => {
    state = 'through';
    delete (res as { headersSent?: boolean }).headersSent;
    for (const call of queue.splice(0)) call();
  };
  const decide = (): void => {
    if (state !== 'open') return;
    const pending = onHead();
    if (pending === undefined) {
      state = 'through';
      return;
    }
    state = 'held';
    // The handler sees its head as sent (as it would be without the hold).
    Object.defineProperty(res, 'headersSent', { configurable: true, get: () => true });
    pending.then(release, release);
  };
  /** Runs a call now when the response goes through, else queues it; `held` is what a held call returns. */
  const pass = (name: keyof typeof original, args: unknown[], held: unknown): unknown => {
    decide();
    if (state === 'through') return original[name].apply(res, args);
    queue.push(() => original[name].apply(res, args));
    return held;
  };

  res.writeHead = function writeHead(this: ServerResponse, status: number, ...rest: unknown[]) {
    if (state === 'through') return original.writeHead.call(this, status, ...rest);
    const reason = typeof rest[0] === 'string' ? rest[0] : undefined;
    applyHeaders(this, reason === undefined ? rest[0] : rest[1]);
    this.statusCode = status;
    if (reason !== undefined) this.statusMessage = reason;
    pass('writeHead', reason === undefined ? [status] : [status, reason], this);
    return this;
  } as ServerResponse['writeHead'];
  res.write = function write(...args: unknown[]): boolean {
    return pass('write', args, true) as boolean;
  } as ServerResponse['write'];
  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    pass('end', args, this);
    return this;
  } as ServerResponse['end'];
  res.flushHeaders = function flushHeaders(): void {
    pass('flushHeaders', [], undefined);
  };
}
