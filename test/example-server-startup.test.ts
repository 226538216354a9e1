import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createRedis, type RedisClient } from '../lib';
import { ExampleProcess } from './example-process';
import { Standalone, waitFor } from './support';

/** Keys of one logical database (SCAN is fine in a test). */
async function keysOf(client: RedisClient): Promise<string[]> {
  return ((await client.keys('*')) as string[]).sort();
}

describe('example server start-up with a named Redis', function () {
  this.timeout(60_000);
  let dataDir: string;
  let redis: Standalone;
  let running: ExampleProcess | undefined;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rmw-example-start-'));
    redis = await Standalone.start();
  });
  afterEach(() => running?.kill());
  after(async () => {
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts the example and resolves with how it ended, for starts that must fail. */
  async function failedStart(
    env: Record<string, string | undefined>,
  ): Promise<{ code: number | null; stderr: string }> {
    running = new ExampleProcess({ DATA_DIR: dataDir, ...env });
    const code = await running.exited;
    expect(running.stdout, 'nothing may listen').not.to.contain('listening');
    return { code, stderr: running.stderr };
  }

  describe('with a REDIS_URL that cannot be right', () => {
    it('should stop before listening when the database path is not a whole number (/abc)', async () => {
      const { code, stderr } = await failedStart({ REDIS_URL: `${redis.url}/abc` });
      expect(code).to.equal(1);
      expect(stderr.trim()).to.match(/^example server not started: REDIS_URL database '\/abc' is not a whole number/);
    });

    it('should stop naming the reason when the database is beyond `databases` (/99)', async () => {
      const { code, stderr } = await failedStart({ REDIS_URL: `${redis.url}/99` });
      expect(code).to.equal(1);
      expect(stderr).to.match(/refused the sessions and limits connection: ERR DB index is out of range/);
    });

    it("should stop naming the caches' database when the session database is the last one (/15 -> 16)", async () => {
      const { code, stderr } = await failedStart({ REDIS_URL: `${redis.url}/15` });
      expect(code).to.equal(1);
      expect(stderr).to.match(/refused the caches connection: ERR DB index is out of range.*CACHE_REDIS_URL/);
    });
  });

  describe('with a password-protected Redis', () => {
    let locked: Standalone;
    before(async () => {
      locked = await Standalone.start();
      // The harness's own connection stays authenticated; new ones need the password.
      await locked.node.command('CONFIG', 'SET', 'requirepass', 's3cret');
    });
    after(() => locked.stop());

    it('should stop naming NOAUTH without a password', async () => {
      const { code, stderr } = await failedStart({ REDIS_URL: locked.url });
      expect(code).to.equal(1);
      expect(stderr).to.match(/refused the sessions and limits connection: NOAUTH .*redis:\/\/:password@host:port/);
    });

    it('should stop naming WRONGPASS with a wrong password, the password masked', async () => {
      const { code, stderr } = await failedStart({ REDIS_URL: locked.url.replace('//', '//:nope@') });
      expect(code).to.equal(1);
      expect(stderr).to.match(/Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused .*WRONGPASS/);
      expect(stderr).not.to.contain('nope');
    });

    it('should serve with the right password: sessions and limits in its database, the caches in the next', async () => {
      running = new ExampleProcess({ DATA_DIR: dataDir, REDIS_URL: `${locked.url.replace('//', '//:s3cret@')}/4` });
      const url = await running.url();
      expect(await (await fetch(`${url}/health`)).json()).to.deep.equal({ redis: 'ok' });
      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'dbs' }),
      });
      expect(login.status).to.equal(200);
      await fetch(`${url}/recipes/1`);
      await fetch(`${url}/ai/suggest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ingredients: ['db', 'split'] }),
      });
      const open = (db: number) => createRedis(`redis://:s3cret@${locked.node.address}/${db}`);
      const [sessionsDb, cachesDb, others] = [open(4), open(5), open(0)];
      try {
        const families = async (client: RedisClient) =>
          [...new Set((await keysOf(client)).map((key) => key.split(':')[0]))].sort();
        expect(await families(sessionsDb)).to.deep.equal(['rate', 'session']);
        expect(await families(cachesDb)).to.deep.equal(['ai', 'api', 'db']);
        expect(await keysOf(others)).to.deep.equal([]);
      } finally {
        for (const client of [sessionsDb, cachesDb, others]) client.disconnect();
      }
      expect(running.stderr).to.equal('');
    });
  });

  describe('when the named Redis does not answer at start', () => {
    it('should listen, answer /health 503 with the reason, and recover by itself once Redis is up', async () => {
      const late = await Standalone.start();
      try {
        await late.node.kill();
        running = new ExampleProcess({ DATA_DIR: dataDir, REDIS_URL: late.url });
        const url = await running.url();
        const lines = running.stderrLines();
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(
          /^\[example\] Redis at redis:\/\/127\.0\.0\.1:\d+ does not answer yet \(.*ECONNREFUSED/,
        );
        expect(running.stdout).not.to.contain('memory mode');
        const down = await fetch(`${url}/health`);
        expect(down.status).to.equal(503);
        const body = (await down.json()) as { redis: string; reason: string };
        expect(body.redis).to.equal('down');
        expect(body.reason).to.match(/ECONNREFUSED/);

        await late.node.restart();
        await waitFor(async () => (await fetch(`${url}/health`)).status === 200, {
          what: '/health 200 after Redis came up',
        });
        const login = await fetch(`${url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'late' }),
        });
        expect(login.status).to.equal(200);
        expect((await keysOf(late.client())).some((key) => key.startsWith('session:'))).to.equal(true);
        expect(running.running).to.equal(true);
      } finally {
        await late.stop();
      }
    });

    it('should keep serving and never exit while its Redis is gone again', async () => {
      const flaky = await Standalone.start();
      try {
        running = new ExampleProcess({ DATA_DIR: dataDir, REDIS_URL: flaky.url });
        const url = await running.url();
        await flaky.node.kill();
        await waitFor(async () => (await fetch(`${url}/health`)).status === 503, { what: '/health 503' });
        expect((await fetch(`${url}/recipes/3`)).status).to.equal(200);
        await flaky.node.restart();
        await waitFor(async () => (await fetch(`${url}/health`)).status === 200, { what: '/health 200 again' });
        expect(running.running).to.equal(true);
      } finally {
        await flaky.stop();
      }
    });
  });
});
