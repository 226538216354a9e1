// Profiled runs after the measured passes: each scenario once under `node --cpu-prof`, summarised in µs per request.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisNode } from '../../test/support/redis-node';
import { summarize } from '../profile-summary';
import type { Scenario } from '../scenarios';
import { type Measurement, measure, type RunSettings } from './measure';

const PROFILES = join(__dirname, '..', 'profiles');

/** The main thread's profile of the last profiled run of `id` (the largest file; tsx's loader thread is small). */
function profileOf(id: string): string | undefined {
  const dir = join(PROFILES, id);
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  return files.map((f) => join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

/**
 * Runs each scenario once more with the profiler on (its figures are not reported: the profiler slows it)
 * and returns the summaries, scaled to the server CPU µs/req of the unprofiled passes (`cpu`).
 */
export async function profileSummaries(
  scenarios: readonly Scenario[],
  redis: RedisNode,
  settings: RunSettings,
  cpu: (id: string) => Measurement | undefined,
): Promise<string> {
  const parts: string[] = [];
  for (const scenario of scenarios) {
    rmSync(join(PROFILES, scenario.id), { recursive: true, force: true });
    await measure(scenario, redis, { ...settings, profile: new Set([scenario.id]) });
    const file = profileOf(scenario.id);
    const usPerRequest = cpu(scenario.id)?.serverCpuUs;
    if (!file || usPerRequest === undefined) continue;
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof summarize>[0];
    parts.push(
      `#### ${scenario.title}: where its ${usPerRequest.toFixed(0)} µs/req go`,
      '',
      '```',
      ...summarize(profile, 15, usPerRequest),
      '```',
      '',
    );
  }
  return parts.join('\n');
}
