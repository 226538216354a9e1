// One real redis-server (or sentinel) process on a free loopback port, with the fault helpers.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisBinaries } from './binaries';
import { waitFor } from './poll';
import { freePort } from './ports';
import { forgetDirectory, trackDirectory, trackProcess } from './processes';

/** How a node is configured; everything else is the harness default. */
export interface RedisNodeOptions {
  /** Extra `redis.conf` lines, e.g. `['cluster-enabled yes']` or `['replicaof 127.0.0.1 6379']`. */
  config?: string[];
  /** Start as a sentinel (`redis-server sentinel.conf --sentinel`). */
  sentinel?: boolean;
}

export class RedisNode {
  readonly host = '127.0.0.1';
  private child: ChildProcess | undefined;
  private admin: Redis | undefined;
  private output = '';
  private launches = 0;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisNodeOptions,
  ) {}

  /** Starts a node on a free port and resolves once it answers PING. */
  static async start(options: RedisNodeOptions = {}): Promise<RedisNode> {
    redisBinaries();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `rmw-redis-${port}-`));
    trackDirectory(dir);
    const node = new RedisNode(port, dir, options);
    await node.launch();
    return node;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get url(): string {
    return `redis://${this.address}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get isRunning(): boolean {
    return this.child !== undefined;
  }

  /** Sends a command through a harness-owned connection (not the client under test). */
  async command(name: string, ...args: Array<string | number>): Promise<unknown> {
    if (!this.admin) {
      this.admin = new Redis({
        host: this.host,
        port: this.port,
        lazyConnect: true,
        commandTimeout: 2000,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: true,
        retryStrategy: () => 100,
        protocol: 2,
      });
      this.admin.on('error', () => undefined);
    }
    return this.admin.call(name, ...args);
  }

  /** `INFO <section>` parsed into fields. */
  async info(section: string): Promise<Record<string, string>> {
    const text = String(await this.command('INFO', section));
    const fields: Record<string, string> = {};
    for (const line of text.split('\r\n')) {
      const at = line.indexOf(':');
      if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1);
    }
    return fields;
  }

  /** Kills the process (connection refused from now on). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes the process with SIGSTOP: connections stay open, nothing answers. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Resumes a frozen process. */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Starts the process again on the same port and directory (cluster identity is kept in nodes.conf). */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Stops the process and removes its directory. */
  async stop(): Promise<void> {
    this.admin?.disconnect();
    this.admin = undefined;
    this.resume();
    await this.kill();
    forgetDirectory(this.dir);
  }

  private async launch(): Promise<void> {
    const { server } = redisBinaries();
    const configFile = join(this.dir, this.options.sentinel ? 'sentinel.conf' : 'redis.conf');
    const lines = [
      `port ${this.port}`,
      `bind ${this.host}`,
      `dir ${this.dir}`,
      'daemonize no',
      'protected-mode no',
      'save ""',
      'appendonly no',
      'loglevel warning',
      ...(this.options.config ?? []),
    ];
    // Sentinel rewrites its config file, so it is written only once.
    if (!this.options.sentinel || this.launches === 0)
      writeFileSync(configFile, `${lines.join('\n')}\n`, { flag: 'w' });
    const args = this.options.sentinel ? [configFile, '--sentinel'] : [configFile];
    const child = spawn(server, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.launches++;
    this.output = '';
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    trackProcess(child);
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await waitFor(async () => (await this.command('PING')) === 'PONG', {
      what: `redis on port ${this.port} to answer PING (output: ${this.output.trim()})`,
      timeoutMs: 10_000,
    });
  }
}
