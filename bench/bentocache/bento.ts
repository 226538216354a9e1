// Loads bentocache (and the ioredis 5 it requires) from this folder's own install, apart from the root's ioredis 6.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The part of a BentoCache instance the benchmarks use. */
export interface Bento {
  getOrSet<T>(options: { key: string; factory: () => T | Promise<T>; ttl?: string }): Promise<T>;
  disconnectAll(): Promise<void>;
}

/** `l2`: Redis only; `l1l2`: an in-memory L1 in front of Redis, kept coherent by bentocache's Redis bus. */
export type BentoMode = 'l2' | 'l1l2';

interface BentoModule {
  BentoCache: new (config: unknown) => Bento;
  bentostore: () => {
    useL1Layer(driver: unknown): ReturnType<BentoModule['bentostore']>;
    useL2Layer(driver: unknown): ReturnType<BentoModule['bentostore']>;
    useBus(driver: unknown): ReturnType<BentoModule['bentostore']>;
  };
}

/** True when `npm ci --prefix bench/bentocache` has run (bench/run.ts tries it once). */
export function bentocacheInstalled(): boolean {
  return existsSync(join(__dirname, 'node_modules', 'bentocache', 'package.json'));
}

// Specifiers in variables: the type checker must not need the optional install.
const BENTO = 'bentocache';
const BENTO_MEMORY = 'bentocache/drivers/memory';
const BENTO_REDIS = 'bentocache/drivers/redis';
const IOREDIS5 = 'ioredis';

/** A BentoCache on the bench Redis, configured the way its README shows. */
export async function createBento(mode: BentoMode, redisUrl: string): Promise<Bento> {
  const { BentoCache, bentostore } = (await import(BENTO)) as BentoModule;
  const { memoryDriver } = (await import(BENTO_MEMORY)) as { memoryDriver: (o: unknown) => unknown };
  const { redisDriver, redisBusDriver } = (await import(BENTO_REDIS)) as {
    redisDriver: (o: unknown) => unknown;
    redisBusDriver: (o: unknown) => unknown;
  };
  const { Redis } = (await import(IOREDIS5)) as { Redis: new (url: string) => unknown };
  const url = new URL(redisUrl);
  const connection = { host: url.hostname, port: Number(url.port) };
  const l2 = redisDriver({ connection: new Redis(redisUrl) });
  const store =
    mode === 'l2'
      ? bentostore().useL2Layer(l2)
      : bentostore()
          .useL1Layer(memoryDriver({ maxSize: '10mb' }))
          .useL2Layer(l2)
          .useBus(redisBusDriver({ connection }));
  return new BentoCache({ default: 'cache', stores: { cache: store } });
}
