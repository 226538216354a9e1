// What the bench Redis did: CPU seconds and commands (INFO cpu / commandstats), and the commands clients sent (MONITOR).
import { Redis } from 'ioredis';
import type { RedisNode } from '../../test/support/redis-node';

/** A reading of the bench Redis's counters. */
export interface RedisSnapshot {
  cpuSeconds: number;
  /** Calls per command, Lua-internal calls included; INFO itself left out. */
  calls: Map<string, number>;
}

export async function snapshot(node: RedisNode): Promise<RedisSnapshot> {
  const cpu = await node.info('cpu');
  const stats = await node.info('commandstats');
  const calls = new Map<string, number>();
  for (const [field, value] of Object.entries(stats)) {
    const name = field.replace(/^cmdstat_/, '');
    if (name === field || name === 'info') continue;
    calls.set(name, Number(/calls=(\d+)/.exec(value)?.[1] ?? 0));
  }
  return { cpuSeconds: Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys), calls };
}

/** Redis CPU seconds and command calls between two snapshots. */
export function difference(before: RedisSnapshot, after: RedisSnapshot): { cpuSeconds: number; calls: number } {
  let calls = 0;
  for (const [name, count] of after.calls) calls += count - (before.calls.get(name) ?? 0);
  return { cpuSeconds: after.cpuSeconds - before.cpuSeconds, calls };
}

/** Commands clients sent during `work` (Lua-internal calls counted apart), from a MONITOR connection. */
export async function monitorDuring(
  node: RedisNode,
  work: () => Promise<void>,
): Promise<{ sent: Map<string, number>; inLua: Map<string, number> }> {
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true });
  await client.connect();
  const monitor = await client.monitor();
  const sent = new Map<string, number>();
  const inLua = new Map<string, number>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = String(args[0]).toLowerCase();
    const into = source === 'lua' ? inLua : sent;
    into.set(name, (into.get(name) ?? 0) + 1);
  });
  try {
    await work();
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
  return { sent, inLua };
}
