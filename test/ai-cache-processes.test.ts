import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import { aiCache } from '../lib/ai-cache';
import { type RedisClient, resolveBackend } from '../lib/redis';
import { type Standalone, sharedStandalone, waitFor } from './support';
import { trackProcess } from './support/processes';

const WORKER = path.join(__dirname, 'fixtures', 'ai-cache-worker.ts');

type WorkerMessage = { event: string; inferences?: number; results?: string[]; message?: string };

/** A second application instance in its own process, on the same Redis. */
class Worker {
  readonly messages: WorkerMessage[] = [];
  readonly exited: Promise<unknown>;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        this.messages.push(JSON.parse(line) as WorkerMessage);
      } catch {
        // not one of ours (a warning line)
      }
    });
    this.exited = once(child, 'exit');
  }

  static async start(env: Record<string, string>): Promise<Worker> {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Killed with the harness's own processes however the run ends (it also exits when its stdin closes).
    trackProcess(child);
    const worker = new Worker(child);
    await worker.next('ready', 30_000);
    return worker;
  }

  go(): void {
    this.child.stdin.write('go\n');
  }

  next(event: string, timeoutMs = 20_000): Promise<WorkerMessage> {
    return waitFor(
      () => {
        const failure = this.messages.find((m) => m.event === 'error');
        if (failure) throw new Error(`worker failed: ${failure.message}`);
        return this.messages.find((m) => m.event === event);
      },
      { what: `worker "${event}"`, timeoutMs, intervalMs: 20 },
    );
  }

  /** Closes its stdin, as a dying test process would: the worker must exit by itself. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const exited = await Promise.race([this.exited.then(() => true), delay(10_000).then(() => false)]);
    if (!exited) {
      await this.kill();
      throw new Error('the worker did not exit when its stdin closed');
    }
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

describe('aiCache() across processes', function () {
  this.timeout(60_000);
  let redis: Standalone;
  let client: RedisClient;
  const workers: Worker[] = [];

  before(async () => {
    redis = await sharedStandalone();
    client = redis.client();
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  });

  after(async () => {
    await resolveBackend({ redis: client }).close();
    client.disconnect();
  });

  it('should run the inference once for 2 processes × 50 concurrent identical calls', async () => {
    const model = `procs-${randomUUID()}`;
    const worker = await Worker.start({
      REDIS_URL: redis.url,
      AI_MODEL: model,
      AI_CALLS: '50',
      AI_INFERENCE_MS: '300',
    });
    workers.push(worker);
    let inferences = 0;
    const suggest = aiCache({ redis: client, model, ttl: '1m' }, async (input: { ingredients: string[] }) => {
      inferences++;
      await delay(300);
      return { recipe: `${input.ingredients.join(' + ')} by pid ${process.pid}` };
    });

    worker.go();
    const here = await Promise.all(Array.from({ length: 50 }, () => suggest({ ingredients: ['egg', 'rice'] })));
    const there = await worker.next('done');

    expect(inferences + (there.inferences as number)).to.equal(1);
    const answers = new Set([...here.map((r) => r.recipe), ...(there.results as string[])]);
    expect(answers.size).to.equal(1);
  });

  it('should let the others proceed once the lock of a killed holder expires', async () => {
    const model = `killed-${randomUUID()}`;
    const worker = await Worker.start({
      REDIS_URL: redis.url,
      AI_MODEL: model,
      AI_INFERENCE_MS: 'forever',
      AI_LOCK_TTL: '1s',
    });
    workers.push(worker);
    worker.go();
    await worker.next('inference');

    let holderWhenRun: string | null | undefined;
    const suggest = aiCache(
      { redis: client, model, ttl: '1m', lockWait: '30s' },
      async (input: { ingredients: string[] }) => {
        holderWhenRun = await client.get(`${suggest.keyFor(input)}:lock`);
        return { recipe: 'made here' };
      },
    );
    const lockKey = `${suggest.keyFor({ ingredients: ['egg', 'rice'] })}:lock`;
    const deadHolder = await client.get(lockKey);
    expect(deadHolder).to.be.a('string');

    const pending = suggest({ ingredients: ['egg', 'rice'] });
    // While the holder lives (and renews its lock), the caller waits instead of computing it a second time.
    const before = await client.pttl(lockKey);
    await waitFor(async () => (await client.pttl(lockKey)) > before, { what: 'the holder renewing its lock' });
    expect(holderWhenRun).to.equal(undefined);

    await worker.kill();
    expect((await pending).recipe).to.equal('made here');
    // The inference ran under a lock of its own: the dead holder's lock had expired (nobody deleted it).
    expect(holderWhenRun).to.be.a('string').and.not.equal(deadHolder);
  });
});
