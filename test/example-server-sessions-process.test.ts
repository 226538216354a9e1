import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ExampleProcess } from './example-process';
import { Standalone } from './support';

async function login(url: string, username: string): Promise<Response> {
  return fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
}

function sessionCookie(res: Response): string {
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
  expect(cookie, 'a sid cookie').to.be.a('string');
  return (cookie as string).split(';')[0] as string;
}

describe('example server sessions across processes', function () {
  this.timeout(60_000);
  let redis: Standalone;
  let dataDir: string;
  const running: ExampleProcess[] = [];
  function start(env: Record<string, string | undefined>): ExampleProcess {
    const example = new ExampleProcess({ REDIS_URL: redis.url, DATA_DIR: dataDir, DB_FILE: ':memory:', ...env });
    running.push(example);
    return example;
  }
  before(async () => {
    redis = await Standalone.start();
  });
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rmw-example-sessions-'));
  });
  afterEach(() => {
    for (const example of running.splice(0)) example.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });
  after(() => redis.stop());

  describe('in development without SESSION_SECRET', () => {
    it('should share sessions between two instances started together: login on A, /me 200 on B', async () => {
      const [a, b] = [start({}), start({})] as [ExampleProcess, ExampleProcess];
      const [urlA, urlB] = await Promise.all([a.url(), b.url()]);
      const res = await login(urlA, 'shared');
      expect(res.status).to.equal(200);
      const me = await fetch(`${urlB}/me`, { headers: { cookie: sessionCookie(res) } });
      expect(me.status).to.equal(200);
      expect(((await me.json()) as { user: { username: string } }).user.username).to.equal('shared');
      // One secret file, no temporary file left behind, readable by its owner only.
      expect(readdirSync(dataDir)).to.deep.equal(['session-secret']);
      expect(readFileSync(join(dataDir, 'session-secret'), 'utf8').trim()).to.match(/^[0-9a-f]{64}$/);
      expect(a.stderr + b.stderr).to.equal('');
    });

    it('should keep the secret across restarts, so sessions survive them', async () => {
      const first = start({});
      const res = await login(await first.url(), 'survivor');
      first.signal('SIGTERM');
      expect(await first.exited).to.equal(0);
      const second = start({});
      const me = await fetch(`${await second.url()}/me`, { headers: { cookie: sessionCookie(res) } });
      expect(me.status).to.equal(200);
    });

    it('should not accept a session signed with another secret', async () => {
      const signed = start({ SESSION_SECRET: 'one-secret-for-this-instance-only' });
      const res = await login(await signed.url(), 'stranger');
      const other = start({});
      const me = await fetch(`${await other.url()}/me`, { headers: { cookie: sessionCookie(res) } });
      expect(me.status).to.equal(401);
    });
  });

  describe('with NODE_ENV=production', () => {
    for (const [what, value] of [
      ['missing', undefined],
      ['empty', ''],
    ] as const) {
      it(`should stop the start naming SESSION_SECRET when it is ${what}`, async () => {
        const example = start({ NODE_ENV: 'production', SESSION_SECRET: value });
        expect(await example.exited).to.equal(1);
        expect(example.stdout).not.to.contain('listening');
        expect(example.stderr.trim()).to.match(
          /^example server not started: SESSION_SECRET must be set when NODE_ENV=production/,
        );
        expect(readdirSync(dataDir), 'no generated secret in production').to.deep.equal([]);
      });
    }

    it('should warn once what to set over plain HTTP without TRUST_PROXY, and refuse logins without writing a session key', async () => {
      await redis.flush();
      const example = start({ NODE_ENV: 'production', SESSION_SECRET: 'a-long-production-secret-from-the-vault' });
      const url = await example.url();
      const res = await login(url, 'insecure');
      expect(res.status).to.equal(403);
      expect(res.headers.getSetCookie()).to.deep.equal([]);
      expect(((await res.json()) as { detail: string }).detail).to.match(/HTTPS.*TRUST_PROXY/);
      // Neither in the sessions' database nor in the caches' (the next one).
      expect(await redis.client().keys('session:*')).to.deep.equal([]);
      expect(await redis.client({ db: 1 }).keys('session:*')).to.deep.equal([]);
      const lines = example.stderrLines();
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^\[example\] NODE_ENV=production makes the session cookie Secure.*TRUST_PROXY=1/);
    });

    it('should log in behind a TLS proxy when TRUST_PROXY is set (X-Forwarded-Proto: https)', async () => {
      const example = start({
        NODE_ENV: 'production',
        SESSION_SECRET: 'a-long-production-secret-from-the-vault',
        TRUST_PROXY: '1',
      });
      const url = await example.url();
      const res = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
        body: JSON.stringify({ username: 'proxied' }),
      });
      expect(res.status).to.equal(200);
      expect(res.headers.getSetCookie()[0]).to.match(/; Secure/i);
      expect(example.stderr).to.equal('');
    });
  });
});
