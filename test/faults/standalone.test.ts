// The whole stack under load while a standalone Redis is killed, frozen, out of memory, flushed of scripts or drops us.
import { expect } from 'chai';
import { Standalone } from '../support';
import { logReport, runScenario } from './scenario';

/** AOF with fsync every second: what a session store needs to keep writes older than a second across a restart. */
const DURABLE = ['appendonly yes', 'appendfsync everysec'];

describe('the stack on a standalone Redis, under load', function () {
  this.timeout(120_000);
  let redis: Standalone;

  before(async () => {
    redis = await Standalone.start(DURABLE);
  });
  after(async () => {
    redis.node.resume();
    await redis.stop();
  });

  describe('when Redis is killed and restarted', () => {
    it('should answer every request in time with documented statuses, recover, and lose nothing', async () => {
      const report = await runScenario({
        redis: redis.client(),
        expectDuring: { 'GET /me': 503 },
        fault: async ({ answered }) => {
          await redis.node.kill();
          await answered(80);
          await redis.node.restart();
          return undefined;
        },
      });
      logReport('killed', report);
    });
  });

  describe('when Redis is frozen with SIGSTOP and resumed', () => {
    it('should answer every request in time with documented statuses, recover, and lose nothing', async () => {
      const report = await runScenario({
        redis: redis.client(),
        expectDuring: { 'GET /me': 503 },
        fault: async ({ answered }) => {
          redis.node.freeze();
          await answered(80);
          redis.node.resume();
          return undefined;
        },
      });
      logReport('frozen', report);
    });
  });

  describe('when the scripts are flushed (NOSCRIPT) while traffic flows', () => {
    it('should reload them and answer every request in time with documented statuses', async () => {
      const report = await runScenario({
        redis: redis.client(),
        fault: async ({ answered }) => {
          for (let i = 0; i < 3; i++) {
            await redis.node.command('SCRIPT', 'FLUSH');
            await answered(30);
          }
          return undefined;
        },
      });
      logReport('script flush', report);
    });
  });

  describe('when our connections are killed (CLIENT KILL)', () => {
    it('should reconnect, resubscribe and answer every request in time with documented statuses', async () => {
      const report = await runScenario({
        redis: redis.client(),
        fault: async ({ answered }) => {
          for (let i = 0; i < 3; i++) {
            const killed = Number(await redis.node.command('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
            const subscribers = Number(await redis.node.command('CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes'));
            expect(killed + subscribers, 'connections killed').to.be.above(0);
            await answered(30);
          }
          return undefined;
        },
      });
      logReport('client kill', report);
    });
  });

  describe('when the cache instance is out of memory (noeviction)', () => {
    let cache: Standalone;

    before(async () => {
      cache = await Standalone.start();
    });
    after(async () => {
      await cache.stop();
    });

    it('should keep sessions and limits on their own instance and serve from the origin', async () => {
      const report = await runScenario({
        redis: redis.client(),
        cacheRedis: cache.client(),
        expectRedisErrors: /OOM/,
        fault: async ({ answered, url }) => {
          const used = Number((await cache.node.info('memory')).used_memory);
          await cache.node.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
          await cache.node.command('CONFIG', 'SET', 'maxmemory', String(used + 256 * 1024));
          // Fill it until Redis refuses writes.
          let refused = '';
          let fillers = 0;
          while (refused === '' && fillers < 100) {
            await cache.node.command('SET', `filler:${fillers++}`, 'x'.repeat(64 * 1024)).catch((error: Error) => {
              refused = error.message;
            });
          }
          expect(refused).to.match(/^OOM/);
          // Below what is used now, so freed query buffers cannot make room again.
          const full = Number((await cache.node.info('memory')).used_memory);
          await cache.node.command('CONFIG', 'SET', 'maxmemory', String(full - 128 * 1024));
          // New AI inputs and list pages: their results must be stored, and cannot be.
          for (let i = 0; i < 5; i++) {
            const headers = { 'content-type': 'application/json', 'x-forwarded-for': `10.66.0.${i}` };
            const body = JSON.stringify({ ingredients: [`oom-${Date.now()}-${i}`] });
            const res = await fetch(`${url}/ai/suggest`, { method: 'POST', headers, body });
            expect(res.status).to.equal(200);
            await res.arrayBuffer();
          }
          await answered(120);
          for (let i = 0; i < fillers; i++) await cache.node.command('DEL', `filler:${i}`);
          await cache.node.command('CONFIG', 'SET', 'maxmemory', '0');
          return undefined;
        },
      });
      logReport('cache OOM', report);
    });
  });
});
