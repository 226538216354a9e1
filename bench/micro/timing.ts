// Timing one async operation at a concurrency: bounded by time and by a call count, per-call latency percentiles.

/** What one case measured. */
export interface Timing {
  calls: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
}

const MAX_CALLS = 2_000_000;

/** Runs `op` from `concurrency` loops for `ms` (after `warmupMs`), timing every call. */
export async function time(
  op: () => Promise<unknown>,
  concurrency: number,
  ms: number,
  warmupMs: number,
): Promise<Timing> {
  await loop(op, concurrency, warmupMs, null);
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  await loop(op, concurrency, ms, samples);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  return { calls: samples.length, opsPerSec: samples.length / seconds, p50Us: at(0.5), p99Us: at(0.99) };
}

async function loop(op: () => Promise<unknown>, concurrency: number, ms: number, samples: number[] | null) {
  const deadline = performance.now() + ms;
  let calls = 0;
  const worker = async () => {
    while (performance.now() < deadline && calls < MAX_CALLS) {
      calls++;
      const t0 = process.hrtime.bigint();
      await op();
      samples?.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
