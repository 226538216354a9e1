// redisHealth(): a bounded PING that says ok or down, and why, against real, stopped, frozen and password-protected Redis.
import { expect } from 'chai';
import { createRedis, type RedisClient, redisHealth } from '../lib';
import { Standalone, waitFor } from './support';

describe('redisHealth()', () => {
  let redis: Standalone;
  let client: RedisClient;
  beforeEach(async () => {
    redis = await Standalone.start();
    client = redis.client();
    await client.ping();
  });
  afterEach(async () => {
    await redis.stop();
  });

  describe('options', () => {
    it('should throw a TypeError naming the client when it is not an ioredis client', () => {
      expect(() => redisHealth({} as RedisClient)).to.throw(TypeError, /client option must be an ioredis/);
    });
    it('should throw a TypeError naming the timeout option when it is not a duration', () => {
      expect(() => redisHealth(client, { timeout: 'soon' as '1s' })).to.throw(TypeError, /timeout option/);
    });
  });

  describe('when Redis answers', () => {
    it('should say ok, ready, with the round trip', async () => {
      const health = await redisHealth(client, { timeout: '1s' });
      expect(health).to.include({ status: 'ok', connection: 'ready', refused: false });
      expect(health.latencyMs).to.be.a('number').at.least(0);
      expect(health).not.to.have.property('reason');
    });
  });

  describe('when the client is still connecting', () => {
    it('should wait for the connection within the timeout and say ok', async () => {
      const fresh = createRedis(redis.url);
      try {
        expect(fresh.status).not.to.equal('ready');
        expect(await redisHealth(fresh, { timeout: '5s' })).to.include({ status: 'ok', connection: 'ready' });
      } finally {
        fresh.disconnect();
      }
    });
  });

  describe('when the URL names a database the server does not have', () => {
    it('should say down and refused, naming the database error, and close the client instead of using db 0', async () => {
      const wrong = createRedis(`${redis.url}/99`);
      try {
        const health = await redisHealth(wrong, { timeout: '5s' });
        expect(health).to.include({ status: 'down', refused: true });
        expect(health.reason).to.match(/DB index is out of range: the database this client selects does not exist/);
        await waitFor(() => wrong.status === 'end', { timeoutMs: 5000, what: 'the client to be closed' });
      } finally {
        wrong.disconnect();
      }
    });
  });

  describe('when Redis is stopped', () => {
    it('should say down with the connection error, and ok again once Redis is back', async () => {
      await redis.node.kill();
      await waitFor(() => client.status !== 'ready', { timeoutMs: 5000, what: 'the client to notice' });
      const health = await redisHealth(client, { timeout: '10s' });
      expect(health).to.include({ status: 'down', refused: false });
      expect(health.connection).not.to.equal('ready');
      await waitFor(async () => /ECONNREFUSED/.test((await redisHealth(client)).reason ?? ''), {
        timeoutMs: 5000,
        what: 'the refused connection to be the reason',
      });
      await redis.node.restart();
      await waitFor(async () => (await redisHealth(client)).status === 'ok', { timeoutMs: 10_000, what: 'recovery' });
    });
  });

  describe('when Redis is frozen', () => {
    it('should say down after the timeout, naming the PING that did not answer', async () => {
      redis.node.freeze();
      const health = await redisHealth(client, { timeout: '200ms' });
      redis.node.resume();
      expect(health).to.include({ status: 'down', connection: 'ready' });
      expect(health.reason).to.match(/did not answer PING within 200 ms/);
    });
  });

  describe('when Redis requires a password the client lacks', () => {
    it('should say down and refused, with the NOAUTH reply as the reason', async () => {
      await redis.node.command('CONFIG', 'SET', 'requirepass', 'secret-of-the-test');
      const stranger = createRedis(redis.url);
      try {
        const health = await redisHealth(stranger, { timeout: '5s' });
        expect(health).to.include({ status: 'down', refused: true });
        expect(health.reason).to.match(/NOAUTH/);
      } finally {
        stranger.disconnect();
        await redis.node.command('CONFIG', 'SET', 'requirepass', '');
      }
    });
  });
});
