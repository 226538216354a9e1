// Finds redis-server and redis-cli, failing at once with install instructions when they are missing.
import { execFileSync } from 'node:child_process';

const INSTALL_HINT =
  'redis-server is required by the tests (they start real Redis processes). Install it with ' +
  '`sudo apt-get install redis-server` (Debian/Ubuntu), `brew install redis` (macOS), or run `bash .ci/run`, which installs it.';

function locate(binary: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

let found: { server: string; cli: string } | undefined;

/** Paths of redis-server and redis-cli; throws with the install hint when either is missing. */
export function redisBinaries(): { server: string; cli: string } {
  if (!found) {
    const server = locate('redis-server');
    const cli = locate('redis-cli');
    if (!server || !cli) throw new Error(INSTALL_HINT);
    found = { server, cli };
  }
  return found;
}
