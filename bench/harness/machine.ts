// The machine and versions a run happened on, for the head of RESULTS.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function versionOf(name: string, from = ROOT): string {
  const file = join(from, 'node_modules', name, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : 'not installed';
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', cwd: ROOT }).trim();
  } catch {
    return 'unknown';
  }
}

/** Load averages as text (1, 5, 15 min). */
export const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');

export function machineText(): string {
  const cpu = cpus();
  const bento = join(ROOT, 'bench', 'bentocache');
  const packages = [
    'express',
    'ioredis',
    'autocannon',
    'apicache',
    'express-rate-limit',
    'rate-limit-redis',
    'rate-limiter-flexible',
    'express-session',
    'connect-redis',
  ].map((name) => `${name} ${versionOf(name)}`);
  packages.push(`bentocache ${versionOf('bentocache', bento)} (with ioredis ${versionOf('ioredis', bento)})`);
  return [
    `- machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${run('uname', ['-sr'])}`,
    `- Node.js ${process.version}, ${run('redis-server', ['--version']).replace(/ sha=.*$/, '')}`,
    `- commit ${run('git', ['rev-parse', '--short', 'HEAD'])}${run('git', ['status', '--porcelain', 'lib']) ? ' (lib/ has uncommitted changes)' : ''}, ${new Date().toISOString()}`,
    `- packages: ${packages.join(', ')}`,
  ].join('\n');
}
