// The header names each endpoint's responses vary on, as stored in Redis (`api:{endpoint}:vary`) and remembered here.
import { LRUCache } from 'lru-cache';
import { debugFor } from '../common/log';
import type { Backend } from '../redis';
import { varySpecKey } from './key';

const debug = debugFor('response-cache');

/** How long a vary spec learnt from Redis is trusted before it is read again. */
const REFRESH_MS = 60_000;
/** Most endpoints whose vary spec one process remembers. */
const LIMIT = 10_000;
/** How long the vary spec key lives in Redis (refreshed by every store). */
export const VARY_SPEC_TTL_MS = 24 * 3_600_000;

/** Vary specs by endpoint: bounded (with `app.use`, every path is an endpoint) and re-read after a minute. */
export class VarySpecs {
  private readonly specs: LRUCache<string, string[]>;

  constructor(
    private readonly backend: Backend,
    limit = LIMIT,
  ) {
    this.specs = new LRUCache({ max: limit, ttl: REFRESH_MS });
  }

  /** The header names an endpoint's responses vary on, when this process knows them (read within the last minute). */
  known(endpoint: string): string[] | undefined {
    return this.specs.get(endpoint);
  }

  /** How many endpoints' vary specs this process remembers (bounded). */
  get size(): number {
    return this.specs.size;
  }

  /** Remembers the vary spec of an endpoint as read from Redis (`null`: none stored yet); returns the names. */
  remember(endpoint: string, stored: Buffer | null): string[] {
    let names: string[] = [];
    try {
      const parsed: unknown = stored ? JSON.parse(stored.toString('utf8')) : [];
      if (Array.isArray(parsed)) names = parsed.filter((name): name is string => typeof name === 'string');
    } catch {
      debug('unreadable vary spec for %s: ignored', endpoint);
    }
    this.specs.set(endpoint, names);
    return names;
  }

  /** Records the vary spec of an endpoint when a response declares a different one. */
  async learn(endpoint: string, names: string[]): Promise<void> {
    const known = this.specs.get(endpoint);
    if (known && known.join(',') === names.join(',')) return;
    this.specs.set(endpoint, names);
    debug('vary spec of %s is now [%s]', endpoint, names.join(', '));
    await this.backend.set(varySpecKey(endpoint), JSON.stringify(names), VARY_SPEC_TTL_MS);
  }
}
