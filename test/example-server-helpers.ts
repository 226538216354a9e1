// Helpers of the example server suites: an app on a fresh in-memory database, unique client IPs, problem checks.
import { expect } from 'chai';
import type { Response } from 'supertest';
import { type CreateAppOptions, createApp, type ExampleApp } from '../example-server/app';
import { openDatabase } from '../example-server/db';
import type { RedisClient } from '../lib/redis';

/** An example app on a fresh, seeded `:memory:` database, trusting X-Forwarded-For so tests pick client IPs. */
export function buildApp(redis: RedisClient | undefined, options: Partial<CreateAppOptions> = {}): ExampleApp {
  return createApp({
    redis,
    db: openDatabase(':memory:'),
    modelDelayMs: 100,
    trustProxy: 1,
    defaultMetrics: false,
    logError: () => undefined,
    logWarning: () => undefined,
    ...options,
  });
}

let nextIp = Math.floor(Math.random() * 200) * 65_536;

/** A client IP no other test used (the rate limits are per IP), for `X-Forwarded-For`. */
export function uniqueIp(): string {
  nextIp++;
  return `10.${(nextIp >> 16) & 255}.${(nextIp >> 8) & 255}.${nextIp & 255}`;
}

/** Asserts an RFC 9457 problem response with this status, and no stack trace. */
export function expectProblem(res: Response, status: number): void {
  expect(res.status).to.equal(status);
  expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).to.include({ status });
  expect(body.title).to.be.a('string');
  expect(body.type).to.be.a('string');
  expect(res.text).not.to.match(/\bat .+\(.+:\d+:\d+\)|node_modules/);
}

/** The value of one sample in Prometheus text. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
