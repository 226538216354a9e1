// Reads the project's markdown the way GitHub renders it: headings and their anchors, tables, relative links.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MarkdownTable {
  /** The text of the nearest heading above the table. */
  heading: string;
  /** Header cells, lower-cased and trimmed. */
  header: string[];
  /** Body rows, cells trimmed (escaped pipes `\|` kept inside their cell, unescaped). */
  rows: string[][];
  line: number;
}

export interface MarkdownLink {
  target: string;
  line: number;
}

export interface MarkdownFile {
  path: string;
  headings: Array<{ text: string; anchor: string; level: number }>;
  tables: MarkdownTable[];
  links: MarkdownLink[];
}

/** GitHub's heading anchor: lower case, punctuation dropped (but `-` and `_`), spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replaceAll(' ', '-');
}

/** Splits a table line into cells, honouring `\|` inside a cell. */
function cellsOf(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim().replaceAll('\\|', '|'));
}

/** Parses one markdown file of the repository (`path` relative to `root`). */
export function readMarkdown(root: string, path: string): MarkdownFile {
  const lines = readFileSync(join(root, path), 'utf8').split('\n');
  const file: MarkdownFile = { path, headings: [], tables: [], links: [] };
  const seen = new Map<string, number>();
  let fenced = false;
  let heading = '';
  let table: MarkdownTable | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced || line.startsWith('```')) continue;
    const withoutCode = line.replace(/`[^`]*`/g, '');
    for (const m of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) file.links.push({ target: m[1] as string, line: i + 1 });
    if (!line.startsWith('|')) table = undefined;
    const h = /^(#{1,6}) (.*)$/.exec(line);
    if (h) {
      heading = (h[2] as string).replaceAll('`', '').trim();
      const base = anchorOf(heading);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      file.headings.push({ text: heading, anchor: n === 0 ? base : `${base}-${n}`, level: (h[1] as string).length });
    } else if (table !== undefined) {
      table.rows.push(cellsOf(line));
    } else if (line.startsWith('|') && /^\|[\s:|-]+\|$/.test((lines[i + 1] ?? '').trim())) {
      table = { heading, header: cellsOf(line).map((c) => c.toLowerCase()), rows: [], line: i + 1 };
      file.tables.push(table);
      i++; // the separator line
    }
  }
  return file;
}
