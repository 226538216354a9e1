// In-process micro benchmarks of the hit paths: aiCache (1 KB, 50 KB compressed) and queryCache vs raw ioredis GET.
import { createRedis } from '../../lib';
import { aiCache } from '../../lib/ai-cache';
import { queryCache } from '../../lib/query-cache';
import { bentocacheInstalled, createBento } from '../bentocache/bento';
import { answer, ROWS_1KB } from './payloads';
import { newSamples, type Samples, slice, summarise, type Timing } from './timing';

/** One row of the micro table. */
export interface MicroRow extends Timing {
  id: string;
  title: string;
  concurrency: number;
  /** The row this one is compared with, and the most it may be (p50 ratio). */
  baseline?: string;
  maxRatio?: number;
}

/** Bytes an aiCache entry takes in Redis against its raw JSON. */
export interface StorageRow {
  id: string;
  rawBytes: number;
  storedBytes: number;
}

async function main(): Promise<void> {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set (run through npm run bench)');
  const ms = Number(process.env.BENCH_MICRO_MS ?? 2000);
  const warmupMs = Math.min(500, ms / 4);
  const redis = createRedis(url);

  const json1 = Buffer.from(JSON.stringify(ROWS_1KB));
  const small = answer(1100);
  const large = answer(50 * 1024);
  const smallJson = Buffer.from(JSON.stringify(small));
  const largeJson = Buffer.from(JSON.stringify(large));
  await redis.set('raw:rows1k', json1);
  await redis.set('raw:ai1k', smallJson);
  await redis.set('raw:ai50k', largeJson);

  const rows = queryCache({ redis, ttl: '10m' });
  const query = { tables: ['recipes'], sql: 'SELECT * FROM recipes WHERE cuisine = ? LIMIT 8', params: ['thai'] };
  const loadRows = async () => ROWS_1KB;
  const ask = aiCache({ redis, model: 'chef-1', ttl: '1h' }, async (input: { size: number }) =>
    input.size > 2000 ? large : small,
  );
  const bento = bentocacheInstalled() ? await createBento('l2', url) : undefined;

  // Fill every cache once (misses), so everything timed below is a hit.
  await rows.get(query, loadRows);
  await ask({ size: 1100 });
  await ask({ size: 50 * 1024 });
  await bento?.getOrSet({ key: 'rows1k', ttl: '10m', factory: loadRows });

  const cases: Array<Omit<MicroRow, keyof Timing | 'concurrency'> & { op: () => Promise<unknown> }> = [
    { id: 'raw-get-1k', title: 'raw ioredis GET 1 KB', op: () => redis.getBuffer('raw:rows1k') },
    {
      id: 'raw-get-parse-1k',
      title: 'raw ioredis GET + JSON.parse 1 KB',
      op: async () => JSON.parse(String(await redis.getBuffer('raw:rows1k'))),
    },
    {
      id: 'query-cache-1k',
      title: 'queryCache hit 1 KB',
      op: () => rows.get(query, loadRows),
      baseline: 'raw-get-parse-1k',
      maxRatio: 1.1,
    },
    ...(bento
      ? [
          {
            id: 'bentocache-l2-1k',
            title: 'bentocache L2 getOrSet hit 1 KB (peer)',
            op: () => bento.getOrSet({ key: 'rows1k', ttl: '10m', factory: loadRows }),
          },
        ]
      : []),
    { id: 'raw-get-ai-1k', title: 'raw ioredis GET 1 KB answer (uncompressed)', op: () => redis.getBuffer('raw:ai1k') },
    {
      id: 'ai-cache-1k',
      title: 'aiCache hit 1 KB answer (compressed)',
      op: () => ask({ size: 1100 }),
      baseline: 'raw-get-ai-1k',
      maxRatio: 2,
    },
    { id: 'raw-get-50k', title: 'raw ioredis GET 50 KB answer (uncompressed)', op: () => redis.getBuffer('raw:ai50k') },
    {
      id: 'raw-get-parse-50k',
      title: 'raw ioredis GET + JSON.parse 50 KB answer',
      op: async () => JSON.parse(String(await redis.getBuffer('raw:ai50k'))),
    },
    {
      id: 'ai-cache-50k',
      title: 'aiCache hit 50 KB answer (compressed)',
      op: () => ask({ size: 50 * 1024 }),
      baseline: 'raw-get-50k',
      maxRatio: 2,
    },
  ];

  // Each case runs in ROUNDS slices taken in rotation with the others, so a burst of load from elsewhere on
  // the machine falls on every case alike instead of on whichever ran at that moment.
  const ROUNDS = 4;
  const results: MicroRow[] = [];
  for (const concurrency of [1, 50]) {
    const gathered: Samples[] = cases.map(newSamples);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, { op }] of cases.entries()) {
        await slice(op, concurrency, ms / ROUNDS, round === 0 ? warmupMs : 20, gathered[i] as Samples);
      }
    }
    for (const [i, { op: _op, ...row }] of cases.entries()) {
      results.push({ ...row, concurrency, ...summarise(gathered[i] as Samples) });
    }
  }

  const storage: StorageRow[] = [];
  for (const [id, input, raw] of [
    ['ai-cache-1k', { size: 1100 }, smallJson],
    ['ai-cache-50k', { size: 50 * 1024 }, largeJson],
  ] as const) {
    const stored = Number(await redis.strlen(ask.keyFor(input)));
    storage.push({ id, rawBytes: raw.length, storedBytes: stored });
  }

  await bento?.disconnectAll();
  redis.disconnect();
  process.stdout.write(`\nMICRO ${JSON.stringify({ results, storage })}\n`);
  setTimeout(() => process.exit(0), 200).unref();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
