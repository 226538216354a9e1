// Real Prometheus and prometheus-redis-exporter processes for the alert tests, and the fast copy of the shipped rules.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './support';
import { freePort } from './support/ports';
import { forgetDirectory, trackDirectory, trackProcess } from './support/processes';

/** The example's Prometheus files. */
export const PROMETHEUS_DIR = join(__dirname, '..', 'example-server', 'prometheus');

const INSTALL_HINT =
  'is required by the alert tests. Install it with `sudo apt-get install prometheus prometheus-redis-exporter` ' +
  '(Debian/Ubuntu), or run `bash .ci/run`, which installs it.';

/** The path of a binary, failing at once with the install hint when it is missing. */
export function binary(name: 'prometheus' | 'promtool' | 'prometheus-redis-exporter'): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} ${INSTALL_HINT}`);
  }
}

/**
 * The shipped rules with windows and `for:` durations shortened for a 1 s scrape and evaluation: `[5m]`
 * becomes `[10s]`, `[1h]` `[30s]`, every `for:` 2 s. Nothing else changes (the expressions are the shipped ones).
 */
export function fastRules(text: string): string {
  return text
    .replace(/\[5m\]/g, '[10s]')
    .replace(/\[1h\]/g, '[30s]')
    .replace(/^(\s+)for: \d+[smh]$/gm, '$1for: 2s');
}

/** A child process that is killed at `stop()` (and when the run ends). */
class Service {
  output = '';
  constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly dir?: string,
  ) {
    trackProcess(child);
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
    if (this.dir) forgetDirectory(this.dir);
  }
}

/** prometheus-redis-exporter watching `redisUrl`, once it serves /metrics. */
export async function startExporter(redisUrl: string): Promise<Service> {
  const port = await freePort();
  const child = spawn(
    binary('prometheus-redis-exporter'),
    ['-redis.addr', redisUrl, '-web.listen-address', `127.0.0.1:${port}`, '-redis-only-metrics'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exporter = new Service(child, `http://127.0.0.1:${port}`);
  await waitFor(async () => (await fetch(`${exporter.url}/metrics`)).ok, {
    what: `prometheus-redis-exporter to serve (output: ${exporter.output})`,
  });
  return exporter;
}

/** A scrape target with its labels. */
export interface Target {
  job: string;
  address: string;
  labels?: Record<string, string>;
}

/** A real Prometheus with a temp data directory, scraping and evaluating every second, once it is ready. */
export async function startPrometheus(
  rules: string,
  targets: Target[],
): Promise<Service & { alerts(): Promise<Alert[]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'rmw-prometheus-'));
  trackDirectory(dir);
  writeFileSync(join(dir, 'alerts.yml'), rules);
  const jobs = targets.map(
    (target) =>
      `  - job_name: ${target.job}\n    static_configs:\n      - targets: ['${target.address}']\n` +
      (target.labels
        ? `        labels:\n${Object.entries(target.labels)
            .map(([name, value]) => `          ${name}: ${value}\n`)
            .join('')}`
        : ''),
  );
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  scrape_timeout: 900ms\nrule_files:\n  - alerts.yml\nscrape_configs:\n${jobs.join('')}`,
  );
  const port = await freePort();
  const child = spawn(
    binary('prometheus'),
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const prometheus = new Service(child, `http://127.0.0.1:${port}`, dir);
  await waitFor(async () => (await fetch(`${prometheus.url}/-/ready`)).ok, {
    what: `Prometheus to be ready (output: ${prometheus.output})`,
    timeoutMs: 30_000,
  });
  return Object.assign(prometheus, {
    alerts: async (): Promise<Alert[]> => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
      return body.data.alerts;
    },
  });
}

/** One alert as Prometheus's /api/v1/alerts lists it (pending or firing; resolved ones are gone). */
export interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

/** The shipped rule file's text. */
export function shippedRules(): string {
  return readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8');
}
