import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ExampleProcess } from './example-process';
import { SENTINEL_NAME, sharedCluster, sharedSentinel } from './support';

/** Logs in, reads a recipe twice and asks for a suggestion; the session id and cookie of the login. */
async function useEveryConcern(url: string): Promise<{ id: string; cookie: string }> {
  const login = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `topology-${process.pid}` }),
  });
  expect(login.status).to.equal(200);
  const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
  const value = decodeURIComponent(cookie.slice('sid='.length));
  expect((await fetch(`${url}/me`, { headers: { cookie } })).status).to.equal(200);
  await fetch(`${url}/recipes/11`);
  expect((await fetch(`${url}/recipes/11`)).headers.get('x-cache')).to.equal('HIT');
  await fetch(`${url}/ai/suggest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ ingredients: ['topology', `${process.pid}`] }),
  });
  return { id: value.slice(2, value.lastIndexOf('.')), cookie };
}

/** Logs out, so the shared topology keeps no session of this suite (other suites count sessions there). */
async function logout(url: string, cookie: string): Promise<void> {
  expect((await fetch(`${url}/auth/logout`, { method: 'POST', headers: { cookie } })).status).to.equal(204);
}

describe('example server on Sentinel and Cluster (npm start)', function () {
  this.timeout(90_000);
  let dataDir: string;
  let running: ExampleProcess | undefined;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rmw-example-topologies-'));
  });
  afterEach(() => running?.kill());
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('should keep sessions and limits in database 0 and the caches in database 1 on Sentinel', async () => {
    const sentinel = await sharedSentinel();
    running = new ExampleProcess({
      DATA_DIR: dataDir,
      DB_FILE: ':memory:',
      REDIS_SENTINELS: sentinel.sentinelAddresses.map((a) => `${a.host}:${a.port}`).join(','),
      REDIS_SENTINEL_NAME: SENTINEL_NAME,
    });
    const url = await running.url();
    expect(running.stdout).to.contain(`(Redis at Sentinel ${SENTINEL_NAME} at `);
    expect(await (await fetch(`${url}/health`)).json()).to.deep.equal({ redis: 'ok' });
    const { id, cookie } = await useEveryConcern(url);
    const sessions = sentinel.client({ db: 0 });
    const caches = sentinel.client({ db: 1 });
    expect(await sessions.exists(`session:${id}`)).to.equal(1);
    expect(await caches.exists(`session:${id}`)).to.equal(0);
    expect(await sessions.keys('api:{/recipes/%3Aid}:*')).to.deep.equal([]);
    expect(await caches.keys('api:{/recipes/%3Aid}:*')).to.have.length.greaterThan(0);
    expect(await caches.keys('ai:chef-1:*')).to.have.length.greaterThan(0);
    expect(await caches.keys('rate:*')).to.deep.equal([]);
    await logout(url, cookie);
    expect(running.stderr).to.equal('');
  });

  it('should run every concern on Cluster, where the key prefixes alone keep them apart (db 0 only)', async () => {
    const cluster = await sharedCluster();
    running = new ExampleProcess({
      DATA_DIR: dataDir,
      DB_FILE: ':memory:',
      REDIS_CLUSTER_NODES: cluster.nodes.map((n) => n.address).join(','),
    });
    const url = await running.url();
    expect(await (await fetch(`${url}/health`)).json()).to.deep.equal({ redis: 'ok' });
    const { id, cookie } = await useEveryConcern(url);
    const client = cluster.client();
    expect(await client.exists(`session:${id}`)).to.equal(1);
    await logout(url, cookie);
    expect(await client.exists(`session:${id}`)).to.equal(0);
    expect(running.stderr).to.equal('');
  });
});
