import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Standalone, waitFor } from './support';
import { trackProcess } from './support/processes';

/** The example's `main.ts` in a child process, as `npm start` runs it. */
class ExampleProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'example-server/main.ts'], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, DEBUG: '', PORT: '0', ...env },
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

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('example server process (npm start)', function () {
  this.timeout(60_000);
  let dataDir: string;
  let running: ExampleProcess | undefined;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rmw-example-'));
  });
  afterEach(() => running?.kill());
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  describe('with REDIS_URL of a running Redis', () => {
    let redis: Standalone;
    before(async () => {
      redis = await Standalone.start();
    });
    after(() => redis.stop());

    it('should serve on PORT, report Redis ok, and exit 0 on SIGTERM after closing HTTP and Redis', async () => {
      const clientsBefore = Number((await redis.node.info('clients')).connected_clients);
      running = new ExampleProcess({ REDIS_URL: redis.url, DB_FILE: join(dataDir, 'a.db') });
      const url = await running.url();
      const health = await fetch(`${url}/health`);
      expect(health.status).to.equal(200);
      expect(await health.json()).to.deep.equal({ redis: 'ok' });
      expect(Number((await redis.node.info('clients')).connected_clients)).to.be.greaterThan(clientsBefore);

      running.signal('SIGTERM');
      expect(await running.exited).to.equal(0);
      expect(running.stdout).to.contain('SIGTERM received');
      expect(running.stderr).to.equal('');
      await waitFor(async () => Number((await redis.node.info('clients')).connected_clients) === clientsBefore, {
        what: "the example's Redis connections to close",
      });
      await fetch(`${url}/health`).then(
        () => expect.fail('the server still answers after SIGTERM'),
        (error: Error) => expect(error).to.be.an('error'),
      );
    });

    it('should seed the database file at first start and keep its changes at the next', async () => {
      const file = join(dataDir, 'b.db');
      running = new ExampleProcess({ REDIS_URL: redis.url, DB_FILE: file });
      let url = await running.url();
      expect(((await (await fetch(`${url}/recipes`)).json()) as { total: number }).total).to.equal(50);
      const put = await fetch(`${url}/recipes/2`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Pizza, kept' }),
      });
      expect(put.status).to.equal(200);
      running.signal('SIGTERM');
      expect(await running.exited).to.equal(0);

      running = new ExampleProcess({ REDIS_URL: redis.url, DB_FILE: file });
      url = await running.url();
      expect(((await (await fetch(`${url}/recipes`)).json()) as { total: number }).total).to.equal(50);
      const recipe = (await (await fetch(`${url}/recipes/2`)).json()) as { recipe: { title: string } };
      expect(recipe.recipe.title).to.equal('Pizza, kept');
      running.signal('SIGTERM');
      expect(await running.exited).to.equal(0);
    });
  });

  describe('when no Redis answers', () => {
    it('should start in memory mode with exactly one warning line, and stop on SIGINT', async () => {
      running = new ExampleProcess({
        REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
        DB_FILE: join(dataDir, 'c.db'),
      });
      const url = await running.url();
      expect(running.stdout).to.contain('(memory mode)');
      const health = await fetch(`${url}/health`);
      expect(health.status).to.equal(200);
      expect(await health.json()).to.deep.equal({ redis: 'memory' });
      const lines = running.stderr.split('\n').filter((line) => line.trim() !== '');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/W_MEMORY_MODE: no Redis answered at redis:\/\/127\.0\.0\.1:\d+ .*memory mode/);

      running.signal('SIGINT');
      expect(await running.exited).to.equal(0);
    });
  });
});
