// Builds dist/: CommonJS + declarations with tsc, then an ES module entry that re-exports them by name.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
writeFileSync(join(root, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');

const names = Object.keys(createRequire(import.meta.url)(join(root, 'dist/cjs/index.js'))).filter(
  (name) => name !== '__esModule',
);
mkdirSync(join(root, 'dist/esm'), { recursive: true });
writeFileSync(
  join(root, 'dist/esm/index.mjs'),
  `// ES module entry: the CommonJS build's exports, by name.\nimport cjs from '../cjs/index.js';\n\nexport const { ${names.join(', ')} } = cjs;\n`,
);
writeFileSync(join(root, 'dist/esm/index.d.mts'), "export * from '../cjs/index.js';\n");
console.log(`built dist/ (exports: ${names.join(', ')})`);
