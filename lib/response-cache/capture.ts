// Holds back a handler's response (writeHead, write, end, piped streams) until it ends, so the cache decides on the whole.
import type { ServerResponse } from 'node:http';
import { applyHeaders } from './hold';

type WriteCallback = (error?: Error | null) => void;
type SetHeader = ServerResponse['setHeader'];

/**
 * Runs `check` whenever a header is set while the head is being written (by the header hooks outer
 * middleware installed on `writeHead`, such as express-session's Set-Cookie), so it can still change
 * the head. Wraps only the public `writeHead` and `setHeader` of this response, for that one call.
 */
function watchHead(res: ServerResponse, check: () => void): void {
  const writeHead = res.writeHead;
  res.writeHead = function watchedWriteHead(this: ServerResponse, ...args: unknown[]) {
    res.writeHead = writeHead;
    const ownSetHeader = Object.hasOwn(res, 'setHeader') ? res.setHeader : undefined;
    const setHeader = res.setHeader;
    res.setHeader = function watchedSetHeader(this: ServerResponse, name: string, value: unknown) {
      const result = setHeader.call(this, name, value as string);
      check();
      return result;
    } as SetHeader;
    try {
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } finally {
      if (ownSetHeader) res.setHeader = ownSetHeader;
      else delete (res as { setHeader?: SetHeader }).setHeader;
    }
  } as ServerResponse['writeHead'];
}
type Patched = Pick<ServerResponse, 'writeHead' | 'write' | 'end' | 'flushHeaders'>;

/**
 * Captures the response until `end()`, then calls `onEnd` with the whole body; the response is not
 * written until `onEnd` calls `release(body)`. Past `maxBytes` (or on `flushHeaders()`), it lets
 * everything through and calls `onOverflow` first, so large or long-lived streams still work.
 */
export class ResponseCapture {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private readonly original: Patched;
  private headWritten = false;
  private released = false;
  private endCallback: WriteCallback | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly maxBytes: number,
    private readonly onEnd: (body: Buffer) => void,
    private readonly onOverflow: () => void,
  ) {
    this.original = { writeHead: res.writeHead, write: res.write, end: res.end, flushHeaders: res.flushHeaders };
    const capture = this;
    res.writeHead = function writeHead(this: ServerResponse, status: number, ...rest: unknown[]) {
      capture.recordHead(status, rest);
      return this;
    } as ServerResponse['writeHead'];
    res.write = function write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
      return capture.write(chunk, encoding, callback);
    } as ServerResponse['write'];
    res.end = function end(this: ServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown) {
      capture.end(chunk, encoding, callback);
      return this;
    } as ServerResponse['end'];
    res.flushHeaders = (): void => {
      capture.overflow();
      res.flushHeaders();
    };
    // The handler sees a response whose head is "sent" once it wrote it or any body (as without the cache).
    Object.defineProperty(res, 'headersSent', {
      configurable: true,
      get: () =>
        capture.headWritten || capture.bytes > 0 || Reflect.get(Object.getPrototypeOf(res), 'headersSent', res),
    });
  }

  /** True once the response was let through (overflow) or written out. */
  get isReleased(): boolean {
    return this.released;
  }

  /** Stops capturing without writing anything: the caller answers with another response. */
  detach(): void {
    if (!this.released) this.restore();
  }

  /**
   * Writes the response out with `body` (or nothing, for 304 and HEAD) and restores the response object.
   * `beforeHead` runs whenever an outer middleware's header hook (express-session adds its Set-Cookie
   * there) sets a header while the head is written, so it can still change the head.
   */
  release(body: Buffer | undefined, beforeHead?: () => void): void {
    if (this.released) return;
    this.restore();
    if (beforeHead) watchHead(this.res, beforeHead);
    const callback = this.endCallback;
    if (body === undefined || body.length === 0) this.res.end(callback);
    else this.res.end(body, callback);
  }

  private recordHead(status: number, rest: unknown[]): void {
    if (this.released) return;
    this.res.statusCode = status;
    let headers = rest[0];
    if (typeof headers === 'string') {
      this.res.statusMessage = headers;
      headers = rest[1];
    }
    applyHeaders(this.res, headers);
    this.headWritten = true;
  }

  private write(chunk: unknown, encoding: unknown, callback: unknown): boolean {
    if (this.released) {
      return (this.res.write as (c: unknown, e: unknown, cb: unknown) => boolean)(chunk, encoding, callback);
    }
    const cb = typeof encoding === 'function' ? encoding : callback;
    this.push(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined);
    if (this.bytes > this.maxBytes) this.overflow();
    if (typeof cb === 'function') process.nextTick(cb as WriteCallback);
    return true;
  }

  private end(chunk: unknown, encoding: unknown, callback: unknown): void {
    if (this.released) {
      (this.res.end as (c: unknown, e: unknown, cb: unknown) => void)(chunk, encoding, callback);
      return;
    }
    let cb = callback;
    let data = chunk;
    if (typeof chunk === 'function') {
      cb = chunk;
      data = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
    }
    if (data !== undefined && data !== null)
      this.push(data, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined);
    this.endCallback = typeof cb === 'function' ? (cb as WriteCallback) : undefined;
    if (this.bytes > this.maxBytes) {
      this.overflow();
      this.res.end(this.endCallback);
      return;
    }
    this.onEnd(Buffer.concat(this.chunks, this.bytes));
  }

  private push(chunk: unknown, encoding: BufferEncoding | undefined): void {
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, encoding ?? 'utf8')
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
          : Buffer.from(String(chunk));
    this.chunks.push(buffer);
    this.bytes += buffer.length;
  }

  /** Lets the response through from now on: the head and what was held back are written at once. */
  private overflow(): void {
    if (this.released) return;
    this.onOverflow();
    this.restore();
    const held = this.chunks;
    this.chunks = [];
    for (const chunk of held) this.res.write(chunk);
  }

  private restore(): void {
    this.released = true;
    this.res.writeHead = this.original.writeHead;
    this.res.write = this.original.write;
    this.res.end = this.original.end;
    this.res.flushHeaders = this.original.flushHeaders;
    delete (this.res as { headersSent?: boolean }).headersSent;
  }
}
