// Timing one async operation at a concurrency: bounded by time and by a call count, per-call latency percentiles.

/** What one case measured. */
export interface Timing {
  calls: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
}

const MAX_CALLS = 2_000_000;

/** Per-call latencies (µs) and the time they took, gathered over one or more slices. */
export interface Samples {
  latenciesUs: number[];
  seconds: number;
}

export const newSamples = (): Samples => ({ latenciesUs: [], seconds: 0 });

/** Runs `op` from `concurrency` loops for `ms` (after `warmupMs`), adding every call's latency to `into`. */
export async function slice(
  op: () => Promise<unknown>,
  concurrency: number,
  ms: number,
  warmupMs: number,
  into: Samples,
): Promise<void> {
  await loop(op, concurrency, warmupMs, null);
  const started = process.hrtime.bigint();
  await loop(op, concurrency, ms, into.latenciesUs);
  into.seconds += Number(process.hrtime.bigint() - started) / 1e9;
}

/** Percentiles and throughput of gathered samples. */
export function summarise({ latenciesUs: samples, seconds }: Samples): Timing {
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
