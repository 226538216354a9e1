import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { sharedStandalone } from '../support';
import {
  createProject,
  installedVersion,
  makeWorkspace,
  type Project,
  type ProjectSpec,
  packPackage,
  type RunningApp,
  readmeQuickStart,
  run,
  startApp,
  writeTsconfig,
} from './projects';
import { itServesTheScenario } from './scenario';

// A diagonal matrix: each Express major and each ioredis major once at run time, the types against both.
const SPECS = {
  express4: {
    name: 'cjs-express4-ioredis5',
    type: 'commonjs',
    dependencies: ['express@^4.21', 'ioredis@^5'],
    files: ['app.cjs'],
  },
  express5: {
    name: 'cjs-express5-ioredis6',
    type: 'commonjs',
    dependencies: ['express@^5', 'ioredis@^6'],
    files: ['app.cjs'],
  },
  typescript: {
    name: 'ts-esm-express5',
    type: 'module',
    dependencies: ['express@^5', 'ioredis@^6', '@types/express', 'typescript@~5.9'],
    files: ['app.ts'],
  },
} satisfies Record<string, ProjectSpec>;

describe('the packed package in fresh consumer projects', function () {
  this.timeout(300_000);
  const workspace = makeWorkspace();
  const projects = {} as Record<keyof typeof SPECS, Project>;
  let redisUrl = '';

  before(async () => {
    const [tarball, redis] = await Promise.all([packPackage(workspace.dir), sharedStandalone()]);
    redisUrl = redis.url;
    // Installs run side by side; each project is reused by every test below.
    const created = await Promise.all(
      Object.entries(SPECS).map(
        async ([key, spec]) => [key, await createProject(workspace.dir, tarball, spec)] as const,
      ),
    );
    for (const [key, project] of created) projects[key as keyof typeof SPECS] = project;
  });

  after(() => {
    if (process.env.KEEP_CONSUMERS) console.log(`consumer projects kept in ${workspace.dir}`);
    else workspace.remove();
  });

  /** A describe block whose tests share the project's app, started on its own database after `prepare`. */
  function describeApp(
    title: string,
    options: { key: keyof typeof SPECS; entry: string; db: number; prepare?: () => Promise<void> },
    body: (app: () => RunningApp) => void,
  ): void {
    describe(title, () => {
      let app: RunningApp | undefined;
      before(async () => {
        await options.prepare?.();
        app = await startApp(projects[options.key], options.entry, {
          REDIS_URL: redisUrl,
          REDIS_DB: String(options.db),
        });
      });
      after(async () => {
        await app?.stop();
      });
      body(() => app as RunningApp);
    });
  }

  for (const key of Object.keys(SPECS) as Array<keyof typeof SPECS>) {
    it(`should install ${SPECS[key].name} without an engine or peer dependency warning`, () => {
      expect(projects[key].installLog).not.to.match(/EBADENGINE|ERESOLVE|peer dep/i);
    });
  }

  describeApp('CommonJS on Express 4 with ioredis 5', { key: 'express4', entry: 'app.cjs', db: 1 }, (app) => {
    it('should run on Express 4 and ioredis 5', () => {
      expect(app().express).to.match(/^4\./);
      expect(installedVersion(projects.express4, 'ioredis')).to.match(/^5\./);
    });

    itServesTheScenario(app);
  });

  describeApp('CommonJS on Express 5 with ioredis 6', { key: 'express5', entry: 'app.cjs', db: 2 }, (app) => {
    it('should run on Express 5 and ioredis 6', () => {
      expect(app().express).to.match(/^5\./);
      expect(installedVersion(projects.express5, 'ioredis')).to.match(/^6\./);
    });

    itServesTheScenario(app);
  });

  describe('strict TypeScript (ES module) on Express 5', () => {
    const tsc = (project: Project, config: string) =>
      run(process.execPath, [join(project.dir, 'node_modules/typescript/bin/tsc'), '-p', config], project.dir);

    /** Compiles the app and the README quick start for nodenext and bundler resolution. */
    async function compileAll(project: Project): Promise<void> {
      writeFileSync(join(project.dir, 'quickstart.ts'), readmeQuickStart());
      const configs = [
        writeTsconfig(project, 'tsconfig.nodenext.json', 'nodenext', ['app.ts']),
        writeTsconfig(project, 'tsconfig.bundler.json', 'bundler', ['app.ts']),
        writeTsconfig(project, 'tsconfig.quickstart-nodenext.json', 'nodenext', ['quickstart.ts']),
        writeTsconfig(project, 'tsconfig.quickstart-bundler.json', 'bundler', ['quickstart.ts']),
      ];
      await Promise.all(configs.map((config) => tsc(project, config)));
    }

    const prepare = async (): Promise<void> => {
      expect(installedVersion(projects.typescript, 'ioredis')).to.match(/^6\./);
      await compileAll(projects.typescript);
    };
    describeApp('against ioredis 6', { key: 'typescript', entry: 'out/app.js', db: 3, prepare }, (app) => {
      it('should compile the app and the README quick start (strict, exactOptionalPropertyTypes, skipLibCheck false; nodenext and bundler)', () => {
        expect(app().express).to.match(/^5\./);
      });

      itServesTheScenario(app);
    });

    describe('against ioredis 5', () => {
      it('should compile the app and the README quick start with ioredis 5 installed instead', async () => {
        const project = projects.typescript;
        await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=warn', 'ioredis@^5'], project.dir);
        expect(installedVersion(project, 'ioredis')).to.match(/^5\./);
        await compileAll(project);
      });
    });
  });
});
