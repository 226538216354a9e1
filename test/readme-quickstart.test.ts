import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import type { RedisClient } from '../lib/redis';
import { sharedStandalone } from './support';

const root = join(__dirname, '..');
const QUICKSTART = join(root, 'example-server', 'quickstart.ts');
/** Marks the fenced block in the docs that must be the quick start file. */
const MARKER = '<!-- quickstart: example-server/quickstart.ts -->';

/** The quick start as the docs show it: the file's code, importing the package by name. */
function quickStartAsDocumented(): string {
  const text = readFileSync(QUICKSTART, 'utf8');
  const start = text.indexOf('import express');
  const end = text.indexOf('// --- end of the README quick start ---');
  return text.slice(start, end).replace("from '../lib';", "from '@alchemorsel/redis-middleware';").trim();
}

/** Every block the README marks as the quick start. */
function documentedBlocks(): Array<{ file: string; code: string }> {
  const file = join(root, 'README.md');
  const text = readFileSync(file, 'utf8');
  const blocks: Array<{ file: string; code: string }> = [];
  for (let at = text.indexOf(MARKER); at !== -1; at = text.indexOf(MARKER, at + 1)) {
    const match = /```ts\n([\s\S]*?)```/.exec(text.slice(at));
    blocks.push({ file, code: (match?.[1] ?? '').trim() });
  }
  return blocks;
}

describe('README quick start', function () {
  this.timeout(60_000);

  it('should be shown in the docs exactly as example-server/quickstart.ts has it', () => {
    const blocks = documentedBlocks();
    expect(blocks, `a fenced ts block after ${MARKER}`).to.have.length.greaterThan(0);
    for (const block of blocks) expect(block.code, block.file).to.equal(quickStartAsDocumented());
  });

  it('should compile without errors under the project settings', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    const program = ts.createProgram([QUICKSTART], { ...config?.options, noEmit: true });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || d.file.fileName === QUICKSTART.replaceAll('\\', '/'))
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).to.deep.equal([]);
  });

  describe('when run against Redis', () => {
    let quick: { app: unknown; redis: RedisClient | undefined; server: Server };
    let base: string;
    let dbClient: RedisClient;
    const saved = { PORT: process.env.PORT, REDIS_URL: process.env.REDIS_URL };
    before(async () => {
      const standalone = await sharedStandalone();
      dbClient = standalone.client({ db: 12 });
      await dbClient.flushdb();
      process.env.PORT = '0';
      process.env.REDIS_URL = `${standalone.url}/12`;
      try {
        quick = await import('../example-server/quickstart');
      } finally {
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
      if (!quick.server.listening) await once(quick.server, 'listening');
      base = `http://127.0.0.1:${(quick.server.address() as { port: number }).port}`;
    });
    after(async () => {
      quick.server.close();
      quick.server.closeAllConnections();
      await quick.redis?.quit();
    });

    it('should log in, serve a cached recipe to anonymous and logged-in users and call the model once', async () => {
      const login = await fetch(`${base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'ada' }),
      });
      expect(login.status).to.equal(200);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      expect(cookie).to.match(/^sid=/);
      expect(await (await fetch(`${base}/me`, { headers: { cookie } })).json()).to.deep.equal({
        user: { id: 42, name: 'ada' },
      });

      const miss = await fetch(`${base}/recipes/1`);
      expect(miss.headers.get('x-cache')).to.equal('MISS');
      expect(await miss.json()).to.deep.equal({ recipe: { id: 1, title: 'Spaghetti Carbonara' } });
      expect((await fetch(`${base}/recipes/1`)).headers.get('x-cache')).to.equal('HIT');
      // ignoreCookies: the logged-in user, who sends the session cookie, is served the shared entry.
      expect((await fetch(`${base}/recipes/1`, { headers: { cookie } })).headers.get('x-cache')).to.equal('HIT');
      expect((await fetch(`${base}/recipes/2`)).status).to.equal(404);

      const ask = () =>
        fetch(`${base}/ai/suggest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie },
          body: JSON.stringify({ ingredients: ['egg', 'rice'] }),
        });
      expect(await (await ask()).json()).to.deep.equal({ ideas: ['egg & rice stew'] });
      expect((await ask()).status).to.equal(200);
      expect(await dbClient.keys('ai:chef-1:*')).to.have.length(1);
      expect(await dbClient.keys('session:*')).to.have.length(1);
      expect((await dbClient.keys('db:{recipes}:*')).length).to.be.greaterThan(0);
      // The keys as the README's notes show them: user-controlled parts percent-encoded.
      expect(await dbClient.keys('api:{/recipes/%3Aid}:*')).to.include.members(['api:{/recipes/%3Aid}:idx']);
      expect(await dbClient.keys('api:{%23path%3A/recipes/1}:*')).to.include.members([
        'api:{%23path%3A/recipes/1}:idx',
      ]);
      expect(await dbClient.keys('rate:*')).to.include.members(['rate:{u42|global}:1m', 'rate:{u42|/ai/suggest}:1m']);
    });
  });
});
