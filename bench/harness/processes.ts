// Starting and stopping a scenario's server process, and reading a process's CPU time from /proc.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const BENCH_DIR = join(__dirname, '..');
const ROOT = join(BENCH_DIR, '..');

/** Clock ticks per second of /proc/<pid>/stat utime/stime (usually 100). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds the process (all its threads) has used so far. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** A running scenario server. */
export interface ServerProcess {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Node's arguments to run a TypeScript file (tsx, as the tests do), plus extra flags (e.g. --cpu-prof). */
export function nodeArgs(file: string, extra: readonly string[] = []): string[] {
  return ['--import', 'tsx', ...extra, join(BENCH_DIR, file)];
}

/** Starts `file` (relative to bench/) and resolves once it prints `LISTENING <port>`; bounded by 20 s. */
export function startServer(
  file: string,
  env: Record<string, string>,
  nodeFlags: readonly string[] = [],
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, nodeArgs(file, nodeFlags), {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${file} did not start within 20 s:\n${output}`)), 20_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      const match = /LISTENING (\d+)/.exec(output);
      if (!match || !child.pid) return;
      clearTimeout(timer);
      resolve({ pid: child.pid, port: Number(match[1]), stop: () => stopChild(child) });
    });
    child.once('exit', (code) => fail(new Error(`${file} exited with ${code} before listening:\n${output}`)));
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const live = new Set<ChildProcess>();

/** Kills every server still running (on exit, however the run ends). */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** Runs a TypeScript file to completion and returns its stdout; bounded by `timeoutMs`. */
export function runScript(file: string, env: Record<string, string>, timeoutMs: number): Promise<string> {
  const child = spawn(process.execPath, nodeArgs(file), {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  live.add(child);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${file} failed (${code ?? signal}):\n${stdout.slice(-2000)}`));
    });
  });
}
