// DEBUG lines an operator reads during an incident: one line per event, naming the route, key or window.
import { format } from 'node:util';
import { expect } from 'chai';
import createDebug from 'debug';
import express from 'express';
import request from 'supertest';
import { createRedis, rateLimit, responseCache } from '../lib';
import { debugFor } from '../lib/common/log';
import { waitFor } from './support';

/** Runs `body` with every `redis-middleware:*` namespace enabled, returning what was logged. */
async function captureDebug(body: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const previous = createDebug.disable();
  const originalLog = createDebug.log;
  createDebug.log = (...args: unknown[]) => lines.push(format(...(args as [string, ...unknown[]])));
  createDebug.enable('redis-middleware:*');
  try {
    await body();
  } finally {
    createDebug.log = originalLog;
    createDebug.disable();
    if (previous) createDebug.enable(previous);
  }
  return lines;
}

describe('debug lines', () => {
  it('should print an Error argument as one line with its cause, never its stack', async () => {
    const lines = await captureDebug(async () => {
      const cause = new Error('connect ECONNREFUSED 127.0.0.1:6379');
      debugFor('test')('retry of %s failed: %s', 'recipes', new Error('Redis failed during EVALSHA', { cause }));
    });
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(
      /retry of recipes failed: Error: Redis failed during EVALSHA \(cause: connect ECONNREFUSED 127\.0\.0\.1:6379\)$/,
    );
    expect(lines[0]).not.to.match(/\n|\bat .+:\d+:\d+/);
  });

  it('should name the method and URL of a responseCache bypass while Redis is unavailable', async () => {
    const redis = createRedis('redis://127.0.0.1:1', { connectTimeout: '100ms' });
    try {
      await waitFor(() => redis.status === 'reconnecting', {
        timeoutMs: 5000,
        what: 'the client to give up a first time',
      });
      const app = express();
      app.get('/recipes/:id', responseCache({ redis, ttl: '1m' }), (_req, res) => res.json({ ok: true }));
      const lines = await captureDebug(async () => {
        await request(app).get('/recipes/7?page=2').expect(200).expect('X-Cache', 'BYPASS');
      });
      expect(lines.filter((line) => /bypass/.test(line))).to.satisfy((found: string[]) =>
        found.some((line) => /bypass GET \/recipes\/7\?page=2: redis-unavailable \(/.test(line)),
      );
    } finally {
      redis.disconnect();
    }
  });

  it('should name the window that rejected a request', async () => {
    const app = express();
    app.get('/ai', rateLimit({ name: 'log-test', windows: { '1m': 1, '1h': 100 } }), (_req, res) => res.json({}));
    const lines = await captureDebug(async () => {
      await request(app).get('/ai').expect(200);
      await request(app).get('/ai').expect(429);
    });
    const rejection = lines.find((line) => /rejected/.test(line));
    expect(rejection).to.match(/limiter log-test: .* rejected on .* by window 1m \(1 of 1 used\); retry in \d+ ms/);
    expect(rejection).not.to.match(/window 1h/);
  });
});
