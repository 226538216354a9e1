// Load from autocannon's own CLI in a separate process: 50 connections to 127.0.0.1, bounded duration, JSON result.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const AUTOCANNON = join(__dirname, '..', '..', 'node_modules', 'autocannon', 'autocannon.js');

/** What one autocannon run measured. */
export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

interface AutocannonJson {
  duration: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

/** Runs autocannon against `url` for `seconds` with `connections` connections and the given headers. */
export function runLoad(
  url: string,
  seconds: number,
  connections: number,
  headers: string[] = [],
): Promise<LoadResult> {
  const args = [AUTOCANNON, '--json', '-c', String(connections), '-d', String(seconds), '-t', '10'];
  for (const header of headers) args.push('-H', header);
  args.push(url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`autocannon exited with ${code}: ${stderr}`));
        return;
      }
      const json = JSON.parse(stdout.slice(stdout.indexOf('{'))) as AutocannonJson;
      const requests = json['2xx'] + json.non2xx;
      resolve({
        requests,
        seconds: json.duration,
        rps: requests / json.duration,
        p50Ms: json.latency.p50,
        p99Ms: json.latency.p99,
        errors: json.errors,
        timeouts: json.timeouts,
        non2xx: json.non2xx,
      });
    });
  });
}
