// Docs that cannot drift: option tables against the options types, error codes against lib/, links between the files.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { expect } from 'chai';
import { codes } from '../lib/common/codes';
import { toMilliseconds } from '../lib/common/duration';
import { CodeFacts, type OptionFact } from './support/code-facts';
import { type MarkdownFile, type MarkdownTable, readMarkdown } from './support/markdown';

const root = join(__dirname, '..');
const MARKDOWN = [
  'README.md',
  'CONTRIBUTING.md',
  'docs/sessions.md',
  'docs/rate-limit.md',
  'docs/response-cache.md',
  'docs/ai-cache.md',
  'docs/query-cache.md',
  'docs/production.md',
  'docs/observability.md',
  'docs/errors.md',
  'example-server/README.md',
  'bench/README.md',
  'bench/RESULTS.md',
];

/** Every option table of the docs: where it is (file, heading above it, first header cell) and what it documents. */
const OPTION_TABLES: Array<{ file: string; heading: string; header?: string; type: string; nested?: string[] }> = [
  { file: 'README.md', heading: 'createRedis()', type: 'CreateRedisOptions' },
  { file: 'README.md', heading: 'sessions()', type: 'SessionsOptions', nested: ['cookie'] },
  { file: 'README.md', heading: 'rateLimit()', type: 'RateLimitOptions' },
  { file: 'README.md', heading: 'responseCache()', type: 'ResponseCacheOptions' },
  { file: 'README.md', heading: 'aiCache()', type: 'AiCacheOptions' },
  { file: 'README.md', heading: 'queryCache()', type: 'QueryCacheOptions' },
  { file: 'docs/sessions.md', heading: 'Options', type: 'SessionsOptions', nested: ['cookie'] },
  { file: 'docs/rate-limit.md', heading: 'Options', type: 'RateLimitOptions' },
  { file: 'docs/response-cache.md', heading: 'Options', type: 'ResponseCacheOptions' },
  { file: 'docs/ai-cache.md', heading: 'Options', type: 'AiCacheOptions' },
  { file: 'docs/ai-cache.md', heading: 'Options', header: 'control', type: 'AiCallControls' },
  { file: 'docs/ai-cache.md', heading: 'Options', header: 'warm option', type: 'WarmOptions' },
  { file: 'docs/query-cache.md', heading: 'Options', type: 'QueryCacheOptions' },
  { file: 'docs/observability.md', heading: 'prometheusMetrics()', type: 'PrometheusMetricsOptions' },
];
/** First header cells that make a table an option table. */
const OPTION_HEADERS = new Set(['option', 'control', 'warm option']);

/** A JavaScript literal at the start of a default (`'5m'`, `1024`, `true`, `[200]`, `{}`), or undefined for prose. */
function literalOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const match = /^('[^']*'|-?\d[\d_.]*|true|false|null|\[[^\]]*\]|\{\s*\})/.exec(text.trim());
  return match?.[1]?.replaceAll('_', '').replace(/\s+/g, ' ');
}

/** Two literals mean the same default (a duration may be written `'1s'` or `1000`). */
function sameDefault(a: string, b: string): boolean {
  if (a === b) return true;
  const unquote = (s: string) => (/^'.*'$/.test(s) ? s.slice(1, -1) : Number(s));
  const [ma, mb] = [toMilliseconds(unquote(a)), toMilliseconds(unquote(b))];
  return ma !== undefined && ma === mb && (/^'/.test(a) || /^'/.test(b));
}

/**
 * Whether a table's default cell agrees with the code's default. A literal default in the code (`'5m'`, `1024`)
 * must open the cell as the same value (words may follow: `` `0` (off) ``); a default the code states in words
 * (`the route pattern`) or not at all must not be shown as a bare literal.
 */
function agrees(codeDefault: string | undefined, cell: string): boolean {
  const code = literalOf(codeDefault);
  const first = /^`([^`]*)`/.exec(cell.trim())?.[1];
  if (code !== undefined) return first !== undefined && sameDefault(literalOf(first) ?? first, code);
  return !(/^`[^`]*`$/.test(cell.trim()) && literalOf(first) !== undefined);
}

/** The option rows of a table: name (backticks dropped) and default cell. */
function rowsOf(table: MarkdownTable): Array<{ name: string; defaultCell: string }> {
  const at = table.header.indexOf('default');
  return table.rows.map((row) => ({ name: (row[0] ?? '').replaceAll('`', ''), defaultCell: row[at] ?? '' }));
}

describe('the docs', function () {
  this.timeout(60_000);
  const files = new Map<string, MarkdownFile>(MARKDOWN.map((path) => [path, readMarkdown(root, path)]));
  let facts: CodeFacts;
  before(() => {
    facts = new CodeFacts(root);
  });

  describe('option tables', () => {
    it('should each be one the test knows, so no table escapes the checks below', () => {
      const unknown: string[] = [];
      for (const file of files.values()) {
        for (const table of file.tables.filter((t) => OPTION_HEADERS.has(t.header[0] ?? ''))) {
          const known = OPTION_TABLES.some(
            (o) => o.file === file.path && o.heading === table.heading && (o.header ?? 'option') === table.header[0],
          );
          if (!known) unknown.push(`${file.path}:${table.line} (under "${table.heading}")`);
        }
      }
      expect(unknown, 'option tables missing from OPTION_TABLES').to.deep.equal([]);
    });

    for (const entry of OPTION_TABLES) {
      describe(`${entry.file} "${entry.heading}" (${entry.type})`, () => {
        let table: MarkdownTable;
        let options: OptionFact[];
        before(() => {
          const found = files
            .get(entry.file)
            ?.tables.filter((t) => t.heading === entry.heading && t.header[0] === (entry.header ?? 'option'));
          expect(found, 'exactly one such table').to.have.length(1);
          table = found?.[0] as MarkdownTable;
          expect(table.header, 'columns').to.include.members(['type', 'default']);
          options = facts
            .optionsOf(entry.type)
            .flatMap((o) =>
              entry.nested?.includes(o.name)
                ? facts.optionsOf(entry.type, o.name).map((n) => ({ ...n, name: `${o.name}.${n.name}` }))
                : [o],
            );
        });

        it('should have a row for each option the code accepts, and only for those', () => {
          const names = rowsOf(table).map((r) => r.name);
          const accepted = options.map((o) => o.name);
          const missing = accepted.filter((name) => !names.includes(name));
          const unknown = names.filter((name) => !accepted.includes(name));
          expect({ missing, unknown }).to.deep.equal({ missing: [], unknown: [] });
        });

        it("should state each option's default as the code does", () => {
          const wrong = rowsOf(table)
            .filter((row) => !agrees(options.find((o) => o.name === row.name)?.defaultText, row.defaultCell))
            .map(
              (row) =>
                `${row.name}: docs say ${row.defaultCell || 'nothing'}, code says ${options.find((o) => o.name === row.name)?.defaultText ?? 'no default'}`,
            );
          expect(wrong).to.deep.equal([]);
        });
      });
    }
  });

  describe('docs/errors.md', () => {
    const errors = files.get('docs/errors.md') as MarkdownFile;
    const documented = errors.headings.filter((h) => h.level === 3).map((h) => h.text);

    it('should document every error and warning code of lib/common/codes.ts, and no other', () => {
      const listed = Object.keys(codes);
      expect({
        undocumented: listed.filter((code) => !documented.includes(code)),
        unknown: documented.filter((code) => !(code in codes)),
      }).to.deep.equal({ undocumented: [], unknown: [] });
    });

    it('should document each code once', () => {
      expect(documented.filter((code, i) => documented.indexOf(code) !== i)).to.deep.equal([]);
    });

    it('should list errors under "Errors" and warning lines under "Warning lines"', () => {
      const misplaced: string[] = [];
      let section = '';
      for (const h of errors.headings) {
        if (h.level === 2) section = h.text;
        const kind = codes[h.text as keyof typeof codes] as string | undefined;
        if (h.level === 3 && kind !== undefined && section !== (kind === 'error' ? 'Errors' : 'Warning lines')) {
          misplaced.push(`${h.text} (${kind}) under "${section}"`);
        }
      }
      expect(misplaced).to.deep.equal([]);
    });

    it('should say for each code what it means and what to do', () => {
      const text = readFileSync(join(root, 'docs/errors.md'), 'utf8');
      const sections = text.split(/^### /m).slice(1);
      const incomplete = sections
        .filter((s) => !/^Means: \S/m.test(s) || !/^Do: \S/m.test(s))
        .map((s) => s.split('\n')[0]);
      expect(incomplete).to.deep.equal([]);
    });
  });

  describe('links', () => {
    it('should resolve every relative link between the markdown files, anchors included', () => {
      const broken: string[] = [];
      for (const file of files.values()) {
        for (const link of file.links) {
          if (/^[a-z][a-z+.-]*:/i.test(link.target)) continue; // https:, mailto:
          const [path = '', anchor] = link.target.split('#');
          const target = path === '' ? file.path : normalize(join(dirname(file.path), path)).replaceAll('\\', '/');
          const where = `${file.path}:${link.line} → ${link.target}`;
          if (!existsSync(join(root, target))) broken.push(`${where} (no such file)`);
          else if (anchor !== undefined && target.endsWith('.md')) {
            const headings = files.get(target)?.headings ?? readMarkdown(root, target).headings;
            if (!headings.some((h) => h.anchor === anchor)) broken.push(`${where} (no such heading)`);
          }
        }
      }
      expect(broken).to.deep.equal([]);
    });
  });
});
