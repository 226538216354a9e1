// What each option table of the docs documents (its defaults object and options type), and how defaults are compared.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { aiCacheDefaults, aiCallControlsDefaults, warmDefaults } from '../../lib/ai-cache/options';
import { toMilliseconds } from '../../lib/common/duration';
import { prometheusMetricsDefaults } from '../../lib/metrics/prometheus';
import { queryCacheDefaults } from '../../lib/query-cache/options';
import { rateLimitDefaults, windowLimitDefaults } from '../../lib/rate-limit/options';
import { createRedisDefaults, redisTargetDefaults } from '../../lib/redis/create-redis';
import { redisHealthDefaults } from '../../lib/redis/redis-health';
import { invalidateTargetDefaults } from '../../lib/response-cache';
import { responseCacheDefaults } from '../../lib/response-cache/options';
import { sessionErrorHandlerDefaults } from '../../lib/sessions/helpers';
import { sessionCookieDefaults, sessionsDefaults } from '../../lib/sessions/options';

/** An options module's defaults object: every accepted option, `undefined` meaning "no default". */
export type Defaults = Readonly<Record<string, unknown>>;

/**
 * Every option table of the docs: where it is (file, heading above it, first header cell), the defaults object
 * of what it documents and the options type (whose `@default` TSDoc must agree). `nested` fields are
 * documented as `<field>.<name>` rows from their own defaults object.
 */
export const OPTION_TABLES: Array<{
  file: string;
  heading: string;
  header?: string;
  defaults: Defaults;
  type: string;
  nested?: Record<string, { defaults: Defaults; type: string }>;
}> = [
  ...(['README.md', 'docs/sessions.md'] as const).map((file) => ({
    file,
    heading: file === 'README.md' ? 'sessions()' : 'Options',
    defaults: sessionsDefaults,
    type: 'SessionsOptions',
    nested: { cookie: { defaults: sessionCookieDefaults, type: 'SessionCookieOptions' } },
  })),
  ...pair('rateLimit()', 'docs/rate-limit.md', rateLimitDefaults, 'RateLimitOptions'),
  ...pair('responseCache()', 'docs/response-cache.md', responseCacheDefaults, 'ResponseCacheOptions'),
  ...pair('aiCache()', 'docs/ai-cache.md', aiCacheDefaults, 'AiCacheOptions'),
  ...pair('queryCache()', 'docs/query-cache.md', queryCacheDefaults, 'QueryCacheOptions'),
  { file: 'README.md', heading: 'createRedis()', defaults: createRedisDefaults, type: 'CreateRedisOptions' },
  {
    file: 'docs/rate-limit.md',
    heading: 'Options',
    header: 'window field',
    defaults: windowLimitDefaults,
    type: 'WindowLimit',
  },
  {
    file: 'docs/sessions.md',
    heading: 'Helpers (on the factory)',
    header: 'errorhandler option',
    defaults: sessionErrorHandlerDefaults,
    type: 'SessionErrorHandlerOptions',
  },
  {
    file: 'docs/response-cache.md',
    heading: 'Options',
    header: 'invalidate target',
    defaults: invalidateTargetDefaults,
    type: 'InvalidateTarget',
  },
  {
    file: 'docs/ai-cache.md',
    heading: 'Options',
    header: 'control',
    defaults: aiCallControlsDefaults,
    type: 'AiCallControls',
  },
  { file: 'docs/ai-cache.md', heading: 'Options', header: 'warm option', defaults: warmDefaults, type: 'WarmOptions' },
  {
    file: 'docs/production.md',
    heading: 'createRedis() targets and options',
    header: 'url target',
    defaults: redisTargetDefaults.url,
    type: 'RedisUrlTarget',
  },
  {
    file: 'docs/production.md',
    heading: 'createRedis() targets and options',
    header: 'sentinel target',
    defaults: redisTargetDefaults.sentinel,
    type: 'RedisSentinelTarget',
  },
  {
    file: 'docs/production.md',
    heading: 'createRedis() targets and options',
    header: 'cluster target',
    defaults: redisTargetDefaults.cluster,
    type: 'RedisClusterTarget',
  },
  {
    file: 'docs/observability.md',
    heading: 'prometheusMetrics()',
    defaults: prometheusMetricsDefaults,
    type: 'PrometheusMetricsOptions',
  },
  {
    file: 'docs/observability.md',
    heading: 'Health checks: redisHealth()',
    defaults: redisHealthDefaults,
    type: 'RedisHealthOptions',
  },
];
/** Defaults objects without a table of their own, and why. */
export const UNTABLED: Record<string, string> = {
  redisConnectionDefaults: 'spread into every factory’s defaults, so its rows are in every table',
  aiCacheKeyOmitDefaults: 'the one field of `key: { omit }`, documented in the `key` row',
};
/** First header cells that make a table an option table. */
export const OPTION_HEADERS = new Set(OPTION_TABLES.map((t) => t.header ?? 'option'));

export function pair(heading: string, doc: string, defaults: Defaults, type: string) {
  return [
    { file: 'README.md', heading, defaults, type },
    { file: doc, heading: 'Options', defaults, type },
  ];
}

/** How a default value is written in the docs: `'5m'`, `1024`, `[200]`, `{}`; undefined when it is not a literal. */
export function formatDefault(value: unknown): string | undefined {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(formatDefault).join(', ')}]`;
  if (value !== null && typeof value === 'object' && Object.keys(value).length === 0) return '{}';
  return undefined; // undefined (no default), functions, objects with content
}

/** A JavaScript literal at the start of a default (`'5m'`, `1024`, `true`, `[200]`, `{}`), or undefined for prose. */
export function literalOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const match = /^('[^']*'|-?\d[\d_.]*|true|false|null|\[[^\]]*\]|\{\s*\})/.exec(text.trim());
  const literal = match?.[1]?.replace(/\s+/g, ' ');
  return literal !== undefined && /^-?\d/.test(literal) ? literal.replaceAll('_', '') : literal;
}

/** Two literals mean the same default (a duration may be written `'1s'` or `1000`). */
export function sameDefault(a: string, b: string): boolean {
  if (a === b) return true;
  const unquote = (s: string) => (/^'.*'$/.test(s) ? s.slice(1, -1) : Number(s));
  const [ma, mb] = [toMilliseconds(unquote(a)), toMilliseconds(unquote(b))];
  return ma !== undefined && ma === mb && (/^'/.test(a) || /^'/.test(b));
}

/**
 * Whether a table's default cell agrees with the code's default (a literal as {@link formatDefault} writes it).
 * A literal must open the cell as the same value (words may follow: `` `0` (off) ``); an option without a literal
 * default (none, computed, a function) must not be shown as a bare literal.
 */
export function agrees(code: string | undefined, cell: string): boolean {
  const first = /^`([^`]*)`/.exec(cell.trim())?.[1];
  if (code !== undefined) return first !== undefined && sameDefault(literalOf(first) ?? first, code);
  return !(/^`[^`]*`$/.test(cell.trim()) && literalOf(first) !== undefined);
}

/** The options a table documents, by row name, with their default values. */
export function optionsOf(entry: (typeof OPTION_TABLES)[number]): Map<string, unknown> {
  const options = new Map<string, unknown>();
  for (const [name, value] of Object.entries(entry.defaults)) {
    const nested = entry.nested?.[name];
    if (nested === undefined) options.set(name, value);
    else for (const [field, v] of Object.entries(nested.defaults)) options.set(`${name}.${field}`, v);
  }
  return options;
}

/** Every `export const <name>Defaults` in lib/, by file. */
export function defaultsExports(dir: string): Array<{ file: string; name: string }> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return defaultsExports(path);
    if (!entry.name.endsWith('.ts')) return [];
    const names = [...readFileSync(path, 'utf8').matchAll(/^export const (\w+Defaults)\b/gm)].map(
      (m) => m[1] as string,
    );
    return names.map((name) => ({ file: path, name }));
  });
}
