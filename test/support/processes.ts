// Every process the harness starts, killed when the run ends however it ends.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const running = new Set<ChildProcess>();
const directories = new Set<string>();

export function trackProcess(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

export function trackDirectory(dir: string): void {
  directories.add(dir);
}

export function forgetDirectory(dir: string): void {
  directories.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Kills every tracked process at once (SIGKILL also ends a SIGSTOPped one) and removes temp dirs. */
export function killEverything(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  directories.clear();
}

process.once('exit', killEverything);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killEverything();
    process.exit(130);
  });
}
