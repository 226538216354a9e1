// Fresh consumer projects in a temp directory: the packed tarball installed beside what a user installs.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support';

export const repoRoot = join(__dirname, '..', '..');
const FIXTURES = join(__dirname, 'fixtures');

/** The environment for child npm and node processes: npm's own variables of the parent run left out. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
  return { ...env, NO_UPDATE_NOTIFIER: '1', ...extra };
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed in ${cwd} (exit ${code}):\n${output}`));
    });
  });
}

/** Builds and packs the package (a fresh clone has no dist/: `prepack` builds); resolves to the tarball. */
export async function packPackage(into: string): Promise<string> {
  const output = await run('npm', ['pack', '--json', '--pack-destination', into], repoRoot);
  const json = output.slice(output.indexOf('[\n'));
  const [packed] = JSON.parse(json) as Array<{ filename: string }>;
  return join(into, (packed as { filename: string }).filename);
}

export interface ProjectSpec {
  name: string;
  type: 'commonjs' | 'module';
  /** What the user installs besides the package. */
  dependencies: string[];
  /** Fixture files copied in. */
  files: string[];
}

export interface Project {
  spec: ProjectSpec;
  dir: string;
  /** Everything `npm install` printed. */
  installLog: string;
}

/** A new directory under the OS temp dir for one suite run. */
export function makeWorkspace(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'redis-middleware-consumers-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Creates the project and installs the tarball with its dependencies. */
export async function createProject(workspace: string, tarball: string, spec: ProjectSpec): Promise<Project> {
  const dir = join(workspace, spec.name);
  await run('mkdir', ['-p', dir], workspace);
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: spec.name, private: true, type: spec.type }, null, 2)}\n`,
  );
  for (const file of spec.files) copyFileSync(join(FIXTURES, file), join(dir, file));
  const installLog = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=warn', tarball, ...spec.dependencies],
    dir,
  );
  return { spec, dir, installLog };
}

/** The version of a package installed in the project. */
export function installedVersion(project: Project, name: string): string {
  return (
    JSON.parse(readFileSync(join(project.dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
  ).version;
}

export interface RunningApp {
  url: string;
  /** The Express version the app reported. */
  express: string;
  stop(): Promise<void>;
}

/** Starts `node <entry>` in the project and resolves once it printed its port. */
export async function startApp(project: Project, entry: string, env: NodeJS.ProcessEnv): Promise<RunningApp> {
  const child: ChildProcess = spawn(process.execPath, [entry], {
    cwd: project.dir,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    const line = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`the app exited (${child.exitCode}):\n${output}`);
        return output.split('\n').find((l) => l.startsWith('{"port"'));
      },
      { what: `${project.spec.name} ${entry} to listen` },
    );
    const { port, express } = JSON.parse(line) as { port: number; express: string };
    return { url: `http://127.0.0.1:${port}`, express, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output}`);
  }
}

/** The README's quick start block, as test/readme-quickstart.test.ts finds it (after its marker). */
export function readmeQuickStart(): string {
  const text = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const marker = '<!-- quickstart: example-server/quickstart.ts -->';
  const at = text.indexOf(marker);
  const match = at === -1 ? null : /```ts\n([\s\S]*?)```/.exec(text.slice(at));
  if (!match?.[1]) throw new Error(`README.md has no \`\`\`ts block after ${marker}`);
  return match[1];
}

/** Writes a tsconfig with the strict settings of a careful consumer and the given module system. */
export function writeTsconfig(project: Project, name: string, mode: 'nodenext' | 'bundler', files: string[]): string {
  const moduleOptions =
    mode === 'nodenext'
      ? { module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out' }
      : { module: 'esnext', moduleResolution: 'bundler', noEmit: true };
  const config = {
    compilerOptions: {
      target: 'es2022',
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      ...moduleOptions,
    },
    files,
  };
  writeFileSync(join(project.dir, name), `${JSON.stringify(config, null, 2)}\n`);
  return name;
}
