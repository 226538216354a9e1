// What every consumer app must do against a real Redis: cache inside a Router and a sub-app, limit, log in.
import { request } from 'node:http';
import { expect } from 'chai';
import type { RunningApp } from './projects';

interface Reply {
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

/**
 * One HTTP request with exactly these headers. (Not fetch(): per the Fetch standard it adds
 * `Cache-Control: no-cache` to a request carrying If-None-Match, which the cache rightly honours.)
 */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: {
            get: (name) => {
              const value = res.headers[name.toLowerCase()];
              return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
            },
          },
          json: async () => JSON.parse(text) as unknown,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Declares the scenario's tests for the app `current()` returns (started in a `before` hook). */
export function itServesTheScenario(current: () => RunningApp): void {
  const get = (path: string, headers: Record<string, string> = {}) => send(current().url + path, 'GET', headers);

  it('should cache a route inside a Router mounted at a pattern: MISS, HIT, then 304', async () => {
    const miss = await get('/api/acme/recipes/1');
    expect(miss.status).to.equal(200);
    expect(miss.headers.get('x-cache')).to.equal('MISS');
    const body = await miss.json();
    const hit = await get('/api/acme/recipes/1');
    expect(hit.headers.get('x-cache')).to.equal('HIT');
    expect(await hit.json()).to.deep.equal(body);
    const etag = hit.headers.get('etag');
    expect(etag).to.be.a('string');
    const notModified = await get('/api/acme/recipes/1', { 'if-none-match': etag as string });
    expect(notModified.status).to.equal(304);
  });

  it('should key the Router route by its pattern, not by the tenant in the URL', async () => {
    const first = await get('/api/other/recipes/2');
    expect(first.headers.get('x-cache')).to.equal('MISS');
    expect(((await first.json()) as { tenant: string }).tenant).to.equal('/api/other');
    expect((await get('/api/other/recipes/2')).headers.get('x-cache')).to.equal('HIT');
  });

  it('should cache a route of a mounted sub-app', async () => {
    const miss = await get('/admin/stats');
    expect(miss.headers.get('x-cache')).to.equal('MISS');
    const hit = await get('/admin/stats');
    expect(hit.headers.get('x-cache')).to.equal('HIT');
    expect(await hit.json()).to.deep.equal(await miss.json());
  });

  it('should answer 429 with Retry-After, RateLimit-Policy, RateLimit and a problem body', async () => {
    expect((await get('/api/acme/limited')).status).to.equal(200);
    expect((await get('/api/other/limited')).status).to.equal(200);
    const limited = await get('/api/third/limited');
    expect(limited.status).to.equal(429);
    expect(limited.headers.get('retry-after')).to.match(/^\d+$/);
    expect(limited.headers.get('ratelimit-policy')).to.match(/q=2/);
    expect(limited.headers.get('ratelimit')).to.match(/r=0/);
    expect(limited.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(((await limited.json()) as { status: number }).status).to.equal(429);
  });

  it('should log in and show the user on /me, and answer 401 without the cookie', async () => {
    expect((await get('/me')).status).to.equal(401);
    const login = await send(
      `${current().url}/login`,
      'POST',
      { 'content-type': 'application/json' },
      JSON.stringify({ name: 'ada' }),
    );
    expect(login.status).to.equal(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(cookie).to.match(/^sid=/);
    const me = await get('/me', { cookie });
    expect(me.status).to.equal(200);
    expect(await me.json()).to.deep.equal({ user: { id: 7, name: 'ada' } });
  });
}
