import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';

const root = join(__dirname, '..');
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

/** The names the design fixes for the public API. */
const DESIGN_NAMES = ['createRedis', 'sessions', 'rateLimit', 'responseCache', 'aiCache', 'queryCache'];

describe('package entry points', function () {
  this.timeout(120_000);

  before(() => {
    node([join(root, 'scripts/build.mjs')]);
  });

  const namesVia = (style: 'require' | 'import'): Record<string, string> =>
    JSON.parse(
      style === 'require'
        ? node([
            '-e',
            "const m = require('@alchemorsel/redis-middleware'); console.log(JSON.stringify(Object.fromEntries(Object.keys(m).map((k) => [k, typeof m[k]]))))",
          ])
        : node([
            '--input-type=module',
            '-e',
            "import * as m from '@alchemorsel/redis-middleware'; console.log(JSON.stringify(Object.fromEntries(Object.keys(m).map((k) => [k, typeof m[k]]))))",
          ]),
    );

  it('should load with require() and expose every public factory', () => {
    const names = namesVia('require');
    for (const name of DESIGN_NAMES) expect(names[name], name).to.equal('function');
  });

  it('should load with import and expose the same names as require()', () => {
    const viaImport = namesVia('import');
    const viaRequire = namesVia('require');
    delete viaRequire.__esModule;
    expect(viaImport).to.deep.equal(viaRequire);
  });

  it('should give the same function objects to both styles (one module instance, no dual-package hazard)', () => {
    const same = node([
      '--input-type=module',
      '-e',
      "import { createRequire } from 'node:module'; import { createRedis } from '@alchemorsel/redis-middleware'; const cjs = createRequire(import.meta.url)('@alchemorsel/redis-middleware'); console.log(cjs.createRedis === createRedis)",
    ]);
    expect(same.trim()).to.equal('true');
  });

  it('should type-check for both ES module and CommonJS consumers', () => {
    node([join(root, 'node_modules/typescript/bin/tsc'), '-p', 'test/fixtures/import-matrix/tsconfig.json']);
  });
});
