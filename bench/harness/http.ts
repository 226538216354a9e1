// Plain HTTP from the orchestrator: logging in for a session cookie, and a sequential probe of N requests.
import { Agent, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.once('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

/** POSTs /login and returns the `name=value` of the session cookie it set. */
export async function login(port: number): Promise<string> {
  const res = await send(port, 'POST', '/login', {});
  const setCookie = res.headers['set-cookie'];
  const cookie = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  if (res.status !== 200 || !cookie) throw new Error(`POST /login answered ${res.status} without a cookie`);
  return cookie.split(';')[0] as string;
}

/** Sends `count` GETs one after another; throws on a status other than 200. */
export async function probe(port: number, path: string, headers: Record<string, string>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await send(port, 'GET', path, headers);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status} in the probe`);
  }
}
