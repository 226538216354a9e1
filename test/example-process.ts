// The example's main.ts as `npm start` runs it, in a child process: its output, its URL, signals, and a closed port.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './support';
import { trackProcess } from './support/processes';

/** The example's `main.ts` in a child process, with `env` on top of this one's (Redis variables cleared). */
export class ExampleProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string | undefined>) {
    const cleared = { REDIS_URL: '', REDIS_SENTINELS: '', REDIS_CLUSTER_NODES: '', CACHE_REDIS_URL: '' };
    const merged: NodeJS.ProcessEnv = { ...process.env, DEBUG: '', PORT: '0', NODE_ENV: 'development', ...cleared };
    delete merged.SESSION_SECRET;
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete merged[name];
      else merged[name] = value;
    }
    this.child = spawn(process.execPath, ['--import', 'tsx', 'example-server/main.ts'], {
      cwd: join(__dirname, '..'),
      env: merged,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackProcess(this.child);
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk;
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk;
    });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  /** The URL it listens on, once it says so. */
  async url(): Promise<string> {
    return waitFor(() => /listening on (http:\/\/localhost:\d+)/.exec(this.stdout)?.[1], {
      what: `the example server to listen (stderr: ${this.stderr})`,
    });
  }

  /** The non-empty lines it wrote to stderr. */
  stderrLines(): string[] {
    return this.stderr.split('\n').filter((line) => line.trim() !== '');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
