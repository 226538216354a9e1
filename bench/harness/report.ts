// bench/RESULTS.md: machine and versions, the HTTP table (ratios to bare Express), the micro table, targets met or missed.
import type { MicroRow, StorageRow } from '../micro';
import type { Scenario } from '../scenarios';
import type { Measurement } from './measure';

/** A scenario's mean over the passes, with its ratio to bare Express of the same passes. */
export interface HttpRow {
  scenario: Scenario;
  mean: Measurement;
  ratio: number;
  /** The ratio of each pass (to show the spread). */
  ratios: number[];
  /** Each pass's own figures (CPU per request is shown per pass too). */
  passes: readonly Measurement[];
}

const fixed = (value: number, digits: number) => value.toFixed(digits);
const commandsText = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${fixed(n, 2)} ${name.toUpperCase()}`)
    .join(' + ') || '0';
const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, n) => sum + n, 0);
const verdict = (met: boolean) => (met ? 'met' : '**missed**');

/** The targets of one scenario, as text with met/missed. */
export function httpTargets(row: HttpRow): string {
  const target = row.scenario.target;
  if (!target) return '';
  const parts: string[] = [];
  if (target.ratio !== undefined) parts.push(`≥ ${target.ratio}: ${verdict(row.ratio >= target.ratio)}`);
  if (target.commands !== undefined) {
    const sent = total(row.mean.sent);
    parts.push(`${target.commands} cmd/req: ${verdict(sent <= target.commands + 0.005)}`);
  }
  if (target.p99Ms !== undefined) parts.push(`p99 ≤ ${target.p99Ms} ms: ${verdict(row.mean.p99Ms <= target.p99Ms)}`);
  return parts.join('; ');
}

export function httpTable(rows: readonly HttpRow[]): string {
  const lines = [
    '| scenario | req/s | ratio to bare | p50 ms | p99 ms | server CPU µs/req | Redis CPU µs/req | Redis commands sent/req (MONITOR) | + inside Lua | commandstats calls/req | errors / non-2xx | target |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |',
  ];
  for (const row of rows) {
    const m = row.mean;
    const spread = row.ratios.length > 1 ? ` (${row.ratios.map((r) => fixed(r, 2)).join(', ')})` : '';
    const each = (pick: (m: Measurement) => number, digits: number) =>
      row.passes.length > 1 ? ` (${row.passes.map((p) => fixed(pick(p), digits)).join(', ')})` : '';
    const name = row.scenario.ours ? `**${row.scenario.title}**` : row.scenario.title;
    lines.push(
      `| ${name} | ${fixed(m.rps, 0)} | ${fixed(row.ratio, 2)}${spread} | ${fixed(m.p50Ms, 1)} | ${fixed(m.p99Ms, 1)} | ` +
        `${fixed(m.serverCpuUs, 0)}${each((p) => p.serverCpuUs, 0)} | ${fixed(m.redisCpuUs, 1)}${each((p) => p.redisCpuUs, 1)} | ` +
        `${commandsText(m.sent)} | ${commandsText(m.inLua)} | ` +
        `${fixed(m.redisCalls, 2)} | ${m.errors} / ${m.non2xx} | ${httpTargets(row)} |`,
    );
  }
  return lines.join('\n');
}

export function microTable(rows: readonly MicroRow[], storage: readonly StorageRow[]): string {
  const lines = [
    '| case | callers | p50 µs | p99 µs | ops/s | p50 vs baseline | target |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const row of rows) {
    const base = rows.find((r) => r.id === row.baseline && r.concurrency === row.concurrency);
    let versus = '';
    let target = '';
    if (base && row.maxRatio !== undefined) {
      const ratio = row.p50Us / base.p50Us;
      versus = `${fixed(ratio, 2)}× ${base.id}`;
      // The targets are set at one caller; at 50 callers the row is reported, the p99 bound applies.
      if (row.concurrency === 1) target = `p50 ≤ ${row.maxRatio}×: ${verdict(ratio <= row.maxRatio)}`;
    }
    if (row.concurrency === 50 && row.baseline) target = `p99 ≤ 15 ms: ${verdict(row.p99Us <= 15_000)}`;
    lines.push(
      `| ${row.title} | ${row.concurrency} | ${fixed(row.p50Us, 1)} | ${fixed(row.p99Us, 1)} | ${fixed(row.opsPerSec, 0)} | ${versus} | ${target} |`,
    );
  }
  lines.push(
    '',
    '| aiCache entry | raw JSON bytes | stored bytes | stored / raw | target ≤ 35 % |',
    '| --- | ---: | ---: | ---: | --- |',
  );
  for (const row of storage) {
    const share = row.storedBytes / row.rawBytes;
    const target = row.id === 'ai-cache-50k' ? verdict(share <= 0.35) : '(1 KB: reported)';
    lines.push(`| ${row.id} | ${row.rawBytes} | ${row.storedBytes} | ${fixed(share * 100, 1)} % | ${target} |`);
  }
  return lines.join('\n');
}
