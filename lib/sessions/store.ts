// SessionStore: connect-redis's RedisStore, extended to be bounded, Cluster-wide, readiness-aware and safe with bad data.
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { emitEvent } from '../common/events';
import { debugFor, warn } from '../common/log';
import { KEY_PREFIX, type RedisClient, sessionKey } from '../redis';
import { bookkeepingOf, decodeSession, encodeSession, formatUntil } from './codec';
import { SessionTooLargeError } from './errors';
import { type ClientReadiness, readinessOf } from './readiness';
import { SessionRedisClient } from './redis-client';

const debug = debugFor('sessions');

/** express-session passes callbacks of several shapes; `never` accepts each of them. */
/** The latest expiry `$until` can record. */
const LATEST_UNTIL = 9_999_999_999_999;

type Callback = (error?: unknown, data?: never) => unknown;

/** The store settings sessions() derives from its options. */
export interface StoreConfig {
  ttlMs: number;
  touchAfterMs: number;
  /** 0 = no absolute limit. */
  maxLifetimeMs: number;
  maxSize: number;
  timeoutMs: number;
}

/**
 * What it adds to connect-redis 8.1:
 * - every call bounded by `redisTimeout` and the shared per-client breaker (a dead Redis fails fast);
 * - `connect`/`disconnect` events as the client's readiness changes, so express-session skips the store;
 * - `ids`/`all`/`length`/`clear` SCAN every primary of a Cluster, and DEL/GET key by key (no CROSSSLOT);
 * - stored values that are not JSON, too large or carry prototype keys give a fresh session;
 * - a size limit on writes, an absolute lifetime, millisecond TTLs, and a touch that writes at most
 *   once per `touchAfter` (one Redis command per request with a valid cookie).
 */
export class SessionStore extends RedisStore {
  private readonly redis: SessionRedisClient;
  private readonly readiness: ClientReadiness;
  /** What each live session object was last saved as (data without the cookie), to skip identical re-saves. */
  private readonly lastSaved = new WeakMap<SessionData, { data: string; until: number }>();
  private readonly onConnect = () => this.relay('connect');
  private readonly onDisconnect = () => this.relay('disconnect');

  constructor(
    private readonly source: RedisClient,
    private readonly config: StoreConfig,
  ) {
    super({ client: source, prefix: KEY_PREFIX.session, ttl: Math.ceil(config.ttlMs / 1000) });
    this.redis = new SessionRedisClient(source, config.timeoutMs);
    // connect-redis's destroy/clear/length/ids call this client: give them the bounded, Cluster-wide one.
    this.client = this.redis;
    this.readiness = readinessOf(source);
    this.readiness.on('connect', this.onConnect);
    this.readiness.on('disconnect', this.onDisconnect);
  }

  /** Whether the client is connected (express-session bypasses the store while it is not). */
  get isReady(): boolean {
    return this.readiness.ready;
  }

  /** Stops following the client's events (the client itself is the application's to close). */
  close(): void {
    this.readiness.off('connect', this.onConnect);
    this.readiness.off('disconnect', this.onDisconnect);
  }

  override async get(sid: string, cb?: Callback): Promise<unknown> {
    const key = sessionKey(sid);
    let raw: Buffer | null;
    try {
      raw = await this.redis.getBuffer(key);
    } catch (error) {
      if (!isWrongType(error)) return done(cb, error);
      return this.freshStart(key, 'is not a string (WRONGTYPE)', cb);
    }
    if (raw === null) return done(cb, null, null);
    const decoded = decodeSession(raw, this.config.maxSize);
    if (!decoded.ok) return this.freshStart(key, decoded.reason, cb);
    const { createdAt } = bookkeepingOf(decoded.session);
    if (
      this.config.maxLifetimeMs > 0 &&
      createdAt !== undefined &&
      createdAt + this.config.maxLifetimeMs <= Date.now()
    ) {
      debug('session %s passed its maxLifetime; starting a fresh session', key);
      this.discard(key);
      return done(cb, null, null);
    }
    return done(cb, null, decoded.session);
  }

  override async set(sid: string, session: SessionData, cb?: Callback): Promise<unknown> {
    const key = sessionKey(sid);
    const now = Date.now();
    const bookkeeping = bookkeepingOf(session);
    const createdAt = bookkeeping.createdAt ?? now;
    const until = this.expiryOf(session, createdAt, now);
    if (until <= now) return this.destroy(sid, cb);
    const data = dataOf(session);
    const previous = this.lastSaved.get(session);
    if (previous && previous.data === data && until - previous.until < this.config.touchAfterMs) {
      // express-session saves again at the end of a request whose session was saved explicitly (login).
      debug('session %s unchanged since its save in this request; not written again', key);
      return done(cb);
    }
    const value = encodeSession(session, until, createdAt);
    const bytes = Buffer.byteLength(value);
    if (bytes > this.config.maxSize) {
      emitEvent({ kind: 'session', outcome: 'too-large' });
      return done(cb, new SessionTooLargeError(bytes, this.config.maxSize, key));
    }
    try {
      await this.redis.setPx(key, value, until - now);
    } catch (error) {
      emitEvent({ kind: 'session', outcome: 'store-error' });
      return done(cb, error);
    }
    bookkeeping.createdAt = createdAt;
    bookkeeping.storedUntil = until;
    this.lastSaved.set(session, { data, until });
    return done(cb);
  }

  /**
   * Extends the expiry only when that gains at least `touchAfter` over the expiry last written;
   * otherwise it costs no Redis command at all.
   */
  override async touch(sid: string, session: SessionData, cb?: Callback): Promise<unknown> {
    const now = Date.now();
    const bookkeeping = bookkeepingOf(session);
    const until = this.expiryOf(session, bookkeeping.createdAt ?? now, now);
    const stored = bookkeeping.storedUntil;
    if (until <= now || (stored !== undefined && until - stored < this.config.touchAfterMs)) return done(cb);
    try {
      await this.redis.touch(sessionKey(sid), formatUntil(until), until - now);
    } catch (error) {
      emitEvent({ kind: 'session', outcome: 'store-error' });
      return done(cb, error);
    }
    bookkeeping.storedUntil = until;
    return done(cb);
  }

  override async destroy(sid: string, cb?: Callback): Promise<unknown> {
    try {
      await this.redis.del([sessionKey(sid)]);
    } catch (error) {
      return done(cb, error);
    }
    return done(cb);
  }

  /** Every session (corrupt ones skipped), each with its `id`; SCANs every primary. */
  override async all(cb?: Callback): Promise<unknown> {
    try {
      const keys = await this.allKeys();
      const values = await this.redis.mgetBuffers(keys);
      const sessions: Array<SessionData & { id: string }> = [];
      values.forEach((raw, i) => {
        if (raw === null) return;
        const decoded = decodeSession(raw, this.config.maxSize);
        if (decoded.ok)
          sessions.push(Object.assign(decoded.session, { id: (keys[i] as string).slice(this.prefix.length) }));
      });
      return done(cb, null, sessions);
    } catch (error) {
      return done(cb, error);
    }
  }

  /** When the key should expire: the cookie's expiry (else now + ttl), capped by `maxLifetime`. */
  private expiryOf(session: SessionData, createdAt: number, now: number): number {
    const expires = session.cookie?.expires;
    let until = expires ? new Date(expires).getTime() : now + this.config.ttlMs;
    if (!Number.isFinite(until)) until = now + this.config.ttlMs;
    if (this.config.maxLifetimeMs > 0) until = Math.min(until, createdAt + this.config.maxLifetimeMs);
    // `$until` is 13 digits of epoch ms: clamp absurd lifetimes (past the year 2286) instead of failing.
    return Math.min(until, LATEST_UNTIL);
  }

  private async allKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of this.redis.scanIterator(`${this.prefix}*`, this.scanCount)) keys.push(key);
    return keys;
  }

  /** An unusable stored value: one warning line, the key deleted, and no session (express-session starts a fresh one). */
  private freshStart(key: string, reason: string, cb: Callback | undefined): unknown {
    warn('W_SESSION_CORRUPT', `stored session ${key} ${reason}; starting a fresh session`);
    emitEvent({ kind: 'session', outcome: 'fresh-start' });
    this.discard(key);
    return done(cb, null, null);
  }

  /** Best-effort delete of an unusable value (its TTL removes it anyway). */
  private discard(key: string): void {
    this.redis.del([key]).catch((error: unknown) => debug('could not delete %s: %s', key, String(error)));
  }

  private relay(event: 'connect' | 'disconnect'): void {
    debug('store %s (client %s)', event === 'connect' ? 'connected' : 'disconnected', this.source.status);
    this.emit(event);
  }
}

/** Whether Redis refused the GET because the key holds another type (bad data, not an outage). */
function isWrongType(error: unknown): boolean {
  // The reply error sits under one or two wrappers (the backend's coded error, then ours): walk the causes.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (current.message.startsWith('WRONGTYPE')) return true;
    current = current.cause;
  }
  return false;
}

/** A session's data without its cookie (what decides whether it changed). */
function dataOf(session: SessionData): string {
  return JSON.stringify(session, function omitCookie(this: unknown, key: string, value: unknown) {
    return this === session && key === 'cookie' ? undefined : value;
  });
}

/** connect-redis's callback-or-promise convention. */
function done(cb: Callback | undefined, error?: unknown, data?: unknown): unknown {
  if (cb) return cb(error ?? null, data as never);
  if (error) throw error;
  return data;
}
