import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { binary, fastRules, PROMETHEUS_DIR, shippedRules } from './prometheus-support';

/** Runs promtool and resolves with its output; a failing check throws with that output. */
function promtool(...args: string[]): string {
  try {
    return execFileSync(binary('promtool'), args, { cwd: PROMETHEUS_DIR, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

const alertNames = (text: string): string[] => [...text.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1] as string);

describe('example-server/prometheus', function () {
  this.timeout(30_000);

  it('should hold alert rules that promtool check rules accepts', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).to.match(/SUCCESS: 12 rules found/);
  });

  it('should hold a scrape config that promtool check config accepts, loading those rules', () => {
    const output = promtool('check', 'config', 'prometheus.yml');
    expect(output).to.match(/SUCCESS: prometheus\.yml is valid/);
    expect(output).to.match(/SUCCESS: 12 rules found/);
  });

  it('should pass its promtool unit tests, which run every alert in simulated time', () => {
    expect(promtool('test', 'rules', 'alerts.test.yml')).to.match(/SUCCESS/);
    const tested = new Set(
      [...readFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]),
    );
    expect(
      alertNames(shippedRules()).filter((name) => !tested.has(name)),
      'alerts without a unit test',
    ).to.deep.equal([]);
  });

  it('should cover the docs alert table: every alert is named in docs/production.md', () => {
    const docs = readFileSync(join(__dirname, '..', 'docs', 'production.md'), 'utf8');
    expect(alertNames(shippedRules()).filter((name) => !docs.includes(`\`${name}\``))).to.deep.equal([]);
  });

  it('should shorten only windows and for: durations in the copy the live test uses', () => {
    const fast = fastRules(shippedRules());
    expect(fast).not.to.match(/\[(5m|1h)\]|for: \d+m/);
    expect(fast.replace(/\[(10s|30s)\]/g, '[W]').replace(/for: 2s/g, 'for: F')).to.equal(
      shippedRules()
        .replace(/\[(5m|1h)\]/g, '[W]')
        .replace(/for: \d+m/g, 'for: F'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'rmw-rules-'));
    try {
      writeFileSync(join(dir, 'fast.yml'), fast);
      expect(promtool('check', 'rules', join(dir, 'fast.yml'))).to.match(/SUCCESS: 12 rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
