import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ExampleProcess, isListening } from './example-process';
import { Standalone, waitFor } from './support';

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
      running = new ExampleProcess({ REDIS_URL: redis.url, DATA_DIR: dataDir, DB_FILE: join(dataDir, 'a.db') });
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
      running = new ExampleProcess({ REDIS_URL: redis.url, DATA_DIR: dataDir, DB_FILE: file });
      let url = await running.url();
      expect(((await (await fetch(`${url}/recipes`)).json()) as { total: number }).total).to.equal(50);
      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'keeper' }),
      });
      const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
      const put = await fetch(`${url}/recipes/2`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', cookie },
        body: JSON.stringify({ title: 'Pizza, kept' }),
      });
      expect(put.status).to.equal(200);
      running.signal('SIGTERM');
      expect(await running.exited).to.equal(0);

      running = new ExampleProcess({ REDIS_URL: redis.url, DATA_DIR: dataDir, DB_FILE: file });
      url = await running.url();
      expect(((await (await fetch(`${url}/recipes`)).json()) as { total: number }).total).to.equal(50);
      const recipe = (await (await fetch(`${url}/recipes/2`)).json()) as { recipe: { title: string } };
      expect(recipe.recipe.title).to.equal('Pizza, kept');
      running.signal('SIGTERM');
      expect(await running.exited).to.equal(0);
    });
  });

  describe('with no Redis named (empty variables count as not set)', () => {
    it('should use 127.0.0.1:6379 when it answers, else run in memory mode with exactly one warning line', async () => {
      const localRedis = await isListening(6379);
      running = new ExampleProcess({ REDIS_URL: '', REDIS_SENTINELS: '', REDIS_CLUSTER_NODES: '', DATA_DIR: dataDir });
      const url = await running.url();
      const health = await fetch(`${url}/health`);
      if (localRedis) {
        // This machine runs a Redis on the default port: the example uses it, as the contract says.
        expect(running.stdout).to.contain('(Redis at redis://127.0.0.1:6379)');
        expect(await health.json()).to.deep.equal({ redis: 'ok' });
      } else {
        expect(running.stdout).to.contain('(memory mode: no Redis answered at redis://127.0.0.1:6379 (');
        expect(health.status).to.equal(200);
        expect(await health.json()).to.deep.equal({ redis: 'memory' });
        const lines = running.stderrLines();
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(/^\[redis-middleware\] W_MEMORY_MODE: .*this process only/);
      }
      running.signal('SIGINT');
      expect(await running.exited).to.equal(0);
    });
  });
});
