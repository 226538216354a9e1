// Docs that cannot drift: option tables against the defaults objects, codes against lib/common/codes.ts, links between the files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { expect } from 'chai';
import { codes } from '../lib/common/codes';
import { CodeFacts } from './support/code-facts';
import { type MarkdownFile, type MarkdownTable, readMarkdown } from './support/markdown';
import {
  agrees,
  type Defaults,
  defaultsExports,
  formatDefault,
  literalOf,
  OPTION_HEADERS,
  OPTION_TABLES,
  optionsOf,
  sameDefault,
  UNTABLED,
} from './support/option-tables';

const root = join(__dirname, '..');
/** Every markdown file of the project (node_modules, dist and the vendored fixtures aside). */
const MARKDOWN = markdownFiles(root);

function markdownFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = prefix + entry.name;
    if (entry.isDirectory()) {
      return /^(node_modules|dist|coverage|fixtures|profiles)$|^\./.test(entry.name)
        ? []
        : markdownFiles(join(dir, entry.name), `${path}/`);
    }
    return entry.name.endsWith('.md') ? [path] : [];
  });
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
        const options = optionsOf(entry);
        before(() => {
          const found = files
            .get(entry.file)
            ?.tables.filter((t) => t.heading === entry.heading && t.header[0] === (entry.header ?? 'option'));
          expect(found, 'exactly one such table').to.have.length(1);
          table = found?.[0] as MarkdownTable;
          expect(table.header, 'columns').to.include.members(['type', 'default']);
        });

        it('should have a row for each option the code accepts, and only for those', () => {
          const names = rowsOf(table).map((r) => r.name);
          const missing = [...options.keys()].filter((name) => !names.includes(name));
          const unknown = names.filter((name) => !options.has(name));
          expect({ missing, unknown }).to.deep.equal({ missing: [], unknown: [] });
        });

        it("should state each option's default as its defaults object does", () => {
          const wrong = rowsOf(table)
            .filter((row) => !agrees(formatDefault(options.get(row.name)), row.defaultCell))
            .map(
              (row) =>
                `${row.name}: docs say ${row.defaultCell || 'nothing'}, code says ${formatDefault(options.get(row.name)) ?? 'no literal default'}`,
            );
          expect(wrong).to.deep.equal([]);
        });
      });
    }

    it('should cover every defaults object lib/ exports', async () => {
      const documented = new Set<unknown>(
        OPTION_TABLES.flatMap((t) => [t.defaults, ...Object.values(t.nested ?? {}).map((n) => n.defaults)]),
      );
      const missing: string[] = [];
      for (const { file, name } of defaultsExports(join(root, 'lib'))) {
        const value = ((await import(file)) as Record<string, unknown>)[name];
        const container =
          value !== null && typeof value === 'object' && Object.values(value).every((v) => documented.has(v));
        if (!documented.has(value) && !container && !(name in UNTABLED))
          missing.push(`${name} (${file.slice(root.length + 1)})`);
      }
      expect(missing, 'defaults objects without an option table').to.deep.equal([]);
    });
  });

  describe('the @default TSDoc of each option', () => {
    for (const entry of OPTION_TABLES.filter((t, i) => OPTION_TABLES.findIndex((u) => u.type === t.type) === i)) {
      it(`should agree with the defaults object of ${entry.type}`, () => {
        const wrong: string[] = [];
        const check = (type: string, defaults: Defaults, field?: string, prefix = '') => {
          for (const fact of facts.optionsOf(type, field)) {
            const code = formatDefault(defaults[fact.name]);
            const doc = literalOf(fact.defaultText);
            if (
              code !== undefined
                ? doc === undefined || !sameDefault(doc, code)
                : doc !== undefined && doc === fact.defaultText?.trim()
            ) {
              wrong.push(
                `${prefix}${fact.name}: @default ${fact.defaultText ?? '(none)'}, defaults object ${code ?? 'no literal'}`,
              );
            }
          }
        };
        check(entry.type, entry.defaults);
        for (const [name, nested] of Object.entries(entry.nested ?? {}))
          check(entry.type, nested.defaults, name, `${name}.`);
        expect(wrong).to.deep.equal([]);
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

  describe('README.md', () => {
    it('should stay a five-minute read: at most 400 lines, depth in docs/', () => {
      expect(readFileSync(join(root, 'README.md'), 'utf8').split('\n').length).to.be.at.most(400);
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
