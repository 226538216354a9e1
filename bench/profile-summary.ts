// Summarises a `node --cpu-prof` profile: self time by package and function, and inclusive time of this package's functions, in % or µs per request.
// Usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top] [busy µs per request]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Samples that are not the server working on requests (idle, the tsx/esbuild loader at start-up). */
const NOT_WORK = /^\((idle|program)\)|esbuild|node:internal\/modules|tsx/;

/**
 * The summary as lines. With `usPerRequest` (the scenario's measured server CPU µs/req), shares of the busy
 * samples are shown as µs per request; otherwise as % of the busy samples.
 */
export function summarize(profile: Profile, top = 30, usPerRequest?: number): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const where = (url: string) => {
    const nm = url.lastIndexOf('node_modules/');
    if (nm >= 0) {
      const rest = url.slice(nm + 13);
      return rest
        .split('/')
        .slice(0, rest.startsWith('@') ? 2 : 1)
        .join('/');
    }
    if (url.includes('/lib/')) return `lib/${url.split('/lib/').pop()}`;
    return url ? (url.startsWith('node:') ? url : url.split('/').slice(-2).join('/')) : '(native/vm)';
  };
  const nameOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`;
  };
  const isWork = (node: ProfileNode) => !NOT_WORK.test(nameOf(node));

  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  const fns = new Map<string, number>();
  const places = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node || !isWork(node)) return;
    // Start-up work (module loading) is left out whole: any stack through the loader.
    const stack: ProfileNode[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (frame) stack.push(frame);
    }
    if (stack.some((frame) => /node:internal\/modules|esbuild|tsx/.test(where(frame.callFrame.url)))) return;
    busyUs += us;
    add(fns, nameOf(node), us);
    add(places, where(node.callFrame.url), us);
    const seen = new Set<string>();
    for (const frame of stack) {
      if (!where(frame.callFrame.url).startsWith('lib/')) continue;
      const name = nameOf(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      add(inclusive, name, us);
    }
  });

  const unit = usPerRequest === undefined ? '%' : 'µs/req';
  const show = (us: number) =>
    usPerRequest === undefined ? ((us / busyUs) * 100).toFixed(1) : ((us / busyUs) * usPerRequest).toFixed(2);
  const lines: string[] = [];
  const print = (title: string, map: Map<string, number>) => {
    lines.push('', `${title} (${unit})`);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      lines.push(`${show(us).padStart(7)}  ${key}`);
    }
  };
  lines.push(`${(busyUs / 1e6).toFixed(2)} s of busy samples (idle and start-up left out)`);
  print('self time by package / file', places);
  print('self time by function', fns);
  print("inclusive time of this package's functions", inclusive);
  return lines;
}

if (require.main === module) {
  const [file, topArg, usArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top] [busy µs per request]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  console.log(file);
  console.log(summarize(profile, Number(topArg ?? 30), usArg === undefined ? undefined : Number(usArg)).join('\n'));
}
