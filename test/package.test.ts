import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import semver from 'semver';

const root = join(__dirname, '..');

interface PackageJson {
  license: string;
  engines: { node: string };
  repository: { url: string };
  homepage: string;
  bugs: { url: string };
  files: string[];
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
/** `https://github.com/owner/name`, from the repository field. */
const repository = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('package.json and the packed files', function () {
  this.timeout(120_000);

  it('should ship the MIT LICENSE its license field names', () => {
    expect(pkg.license).to.equal('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).to.match(/^MIT License/);
  });

  it('should name one repository in repository, homepage, bugs and every link the code sends', () => {
    expect(repository).to.match(/^https:\/\/github\.com\/[\w-]+\/[\w-]+$/);
    expect(pkg.homepage.startsWith(`${repository}#`)).to.equal(true);
    expect(pkg.bugs.url).to.equal(`${repository}/issues`);
    const links = sourceFiles(join(root, 'lib')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/https:\/\/github\.com\/[^\s'"`)]+/g)].map((m) => m[0]),
    );
    for (const link of links) expect(link.startsWith(`${repository}/`), link).to.equal(true);
  });

  it('should take ioredis and express from the application (peers), never install its own', () => {
    expect(pkg.dependencies).not.to.have.property('ioredis');
    expect(pkg.dependencies).not.to.have.property('express');
    expect(pkg.peerDependencies.ioredis).to.equal('^5.0.0 || ^6.0.0');
    expect(pkg.peerDependencies.express).to.equal('^4.21 || ^5');
  });

  it('should depend only on packages whose engines cover its own engines range', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; engines?: { node?: string } | string[] }>;
    };
    const narrower = Object.entries(lock.packages)
      .filter(([path, info]) => path !== '' && !info.dev && !Array.isArray(info.engines) && info.engines?.node)
      .filter(([, info]) => !semver.subset(pkg.engines.node, (info.engines as { node: string }).node))
      .map(([path, info]) => `${path} (${(info.engines as { node: string }).node})`);
    expect(narrower).to.deep.equal([]);
  });

  it('should pack the built JavaScript and declarations, the README, LICENSE and package.json only', () => {
    const output = execFileSync('npm', ['pack', '--dry-run', '--json'], {
      cwd: root,
      encoding: 'utf8',
    });
    const [packed] = JSON.parse(output.slice(output.indexOf('[\n'))) as Array<{ files: Array<{ path: string }> }>;
    const files = (packed?.files ?? []).map((f) => f.path);
    const unexpected = files.filter(
      (file) =>
        !['README.md', 'LICENSE', 'package.json', 'dist/cjs/package.json'].includes(file) &&
        !/^dist\/cjs\/.+\.(js|d\.ts)$/.test(file) &&
        !/^dist\/esm\/index\.(mjs|d\.mts)$/.test(file),
    );
    expect(unexpected, 'files outside the reviewed list (source maps, sources, tests)').to.deep.equal([]);
    expect(files).to.include.members(['LICENSE', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.mjs']);
  });
});
