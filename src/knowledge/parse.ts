/**
 * Layer 1 of ingestion: reads files into plain JSON (documents, people, errors) without touching a database, so
 * the CLI can parse on one machine and a running server can apply the result.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import matter from 'gray-matter';
import { parse as parseCsv } from 'csv-parse/sync';
import { htmlToMarkdown } from './html.ts';
import { parseAccessList } from './principals.ts';
import { finishPeople, isRecord, peopleFromRows, type RawPerson } from './parse-people.ts';
import type { ParsedSources, SourceDocument } from './sources.ts';

export interface ParseOptions {
  /** Base of document URLs when a source gives none: base + relative path. */
  documentBaseUrl?: string;
}

export const DEFAULT_DOCUMENT_BASE_URL = 'https://kb.acme.example/';

const DOC_EXT: Record<string, SourceDocument['format']> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.mdx': 'markdown',
  '.txt': 'text',
  '.text': 'text',
  '.html': 'html',
  '.htm': 'html',
};

/** Parses a file or a directory tree (hidden files and `node_modules` skipped). Never throws for a bad file. */
export function parseSources(path: string, opts: ParseOptions = {}): ParsedSources {
  const root = resolve(path);
  const out: ParsedSources = { root, documents: [], people: [], errors: [] };
  if (!existsSync(root)) {
    out.errors.push({ path, reason: 'no such file or directory' });
    return out;
  }
  const isDir = statSync(root).isDirectory();
  const files = isDir ? listFiles(root) : [root];
  const base = isDir ? root : resolve(root, '..');
  const people: RawPerson[] = [];
  for (const file of files) {
    const rel = relative(base, file).split(sep).join('/');
    const ext = extname(file).toLowerCase();
    if (file.endsWith('.meta.json')) continue; // sidecars are read with their document
    try {
      if (DOC_EXT[ext]) {
        out.documents.push(parseDocument(file, rel, DOC_EXT[ext], opts));
      } else if (ext === '.csv') {
        people.push(...peopleFromRows(parseCsv(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: true }) as Record<string, unknown>[], rel));
      } else if (ext === '.json') {
        const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
        const rows = Array.isArray(data) ? data : isRecord(data) && Array.isArray(data['people']) ? data['people'] : null;
        if (!rows) throw new Error('JSON people directory must be an array of people or {"people": [...]}');
        people.push(...peopleFromRows(rows as Record<string, unknown>[], rel));
      } else if (isDir) {
        continue; // other files in a tree (images, PDFs) are not ours to read
      } else {
        throw new Error(`unsupported file type ${ext || '(none)'}`);
      }
    } catch (err) {
      out.errors.push({ path: rel, reason: reasonOf(err) });
    }
  }
  const { people: resolved, errors } = finishPeople(people);
  out.people = resolved;
  out.errors.push(...errors);
  return out;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

// ---------------------------------------------------------------- documents

/** Parses one document file with its front matter and optional `<file>.meta.json` sidecar. */
export function parseDocument(file: string, rel: string, format: SourceDocument['format'], opts: ParseOptions = {}): SourceDocument {
  const raw = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  if (raw.includes('\u0000')) throw new Error('binary content');
  let meta: Record<string, unknown> = {};
  let body = raw;
  let htmlTitle: string | null = null;
  if (format === 'html') {
    const h = htmlToMarkdown(raw);
    body = h.markdown;
    htmlTitle = h.title;
    meta = { ...h.meta };
  } else {
    let fm: matter.GrayMatterFile<string>;
    try {
      // Passing options disables gray-matter's content cache, which would share parsed objects between files.
      fm = matter(raw, { excerpt: false });
    } catch (err) {
      throw new Error(`invalid front matter: ${firstLine(reasonOf(err))}`);
    }
    if (!isRecord(fm.data)) throw new Error('invalid front matter: expected key: value pairs');
    meta = fm.data;
    body = fm.content;
  }
  const sidecar = `${file}.meta.json`;
  if (existsSync(sidecar)) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(sidecar, 'utf8'));
    } catch (err) {
      throw new Error(`invalid sidecar ${basename(sidecar)}: ${reasonOf(err)}`);
    }
    if (!isRecord(data)) throw new Error(`invalid sidecar ${basename(sidecar)}: expected an object`);
    meta = { ...meta, ...data };
  }
  body = body.replace(/\r\n?/g, '\n').trim();
  if (format === 'text') body = textToMarkdown(body);
  const title = stringField(meta, ['title', 'name']) ?? htmlTitle ?? titleFromBody(body, format) ?? titleFromPath(rel);
  const url = stringField(meta, ['url', 'link', 'source_url', 'permalink', 'canonical']) ?? defaultUrl(rel, opts);
  if (!/^https?:\/\/\S+$/i.test(url)) throw new Error(`url must be an absolute http(s) URL, got ${JSON.stringify(url)}`);
  if (!body) throw new Error('empty document');
  return {
    path: rel,
    format,
    title: title.trim(),
    url,
    updatedAt: dateField(meta),
    access: accessField(meta),
    tags: tagsField(meta),
    body,
  };
}

/**
 * Plain text has no markup, but a line on its own in capitals ("HOW LONG ITEMS ARE KEPT") is a heading: it becomes
 * one, so chunks get heading paths and headings are not glued to the next sentence.
 */
export function textToMarkdown(text: string): string {
  const paras = text.split(/\n\s*\n/);
  return paras
    .map((p, i) => {
      const line = p.trim();
      if (!line.includes('\n') && line.length <= 80 && /\p{Lu}{2}/u.test(line) && line === line.toUpperCase() && !/[.!?]$/.test(line)) {
        const title = line.toLowerCase().replace(/^\p{L}/u, (c) => c.toUpperCase());
        return `${i === 0 ? '#' : '##'} ${title}`;
      }
      return p;
    })
    .join('\n\n');
}

function titleFromBody(body: string, format: SourceDocument['format']): string | null {
  if (format === 'markdown') {
    const m = body.match(/^\s{0,3}#\s+(.+?)\s*#*\s*$/m);
    if (m) return m[1]!.trim();
  }
  if (format === 'text') {
    const h1 = body.match(/^# (.+)$/m);
    if (h1) return h1[1]!.trim();
    const [first, second] = body.split('\n');
    if (first && first.length <= 100 && !/[.!?:]$/.test(first.trim()) && (second === undefined || !second.trim())) return first.trim();
  }
  return null;
}

function titleFromPath(rel: string): string {
  const name = basename(rel).replace(/\.[^.]+$/, '').replace(/[-_]+/g, ' ').trim();
  return name ? name[0]!.toUpperCase() + name.slice(1) : rel;
}

function defaultUrl(rel: string, opts: ParseOptions): string {
  const base = opts.documentBaseUrl ?? DEFAULT_DOCUMENT_BASE_URL;
  return base.replace(/\/?$/, '/') + rel.split('/').map(encodeURIComponent).join('/');
}

function stringField(meta: Record<string, unknown>, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = meta[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`front matter "${k}" must be a string`);
    return String(v);
  }
  return undefined;
}

const DATE_KEYS = ['updated', 'updated_at', 'updatedAt', 'last_updated', 'lastUpdated', 'modified', 'date'];

function dateField(meta: Record<string, unknown>): string | null {
  for (const k of DATE_KEYS) {
    const v = meta[k];
    if (v === undefined || v === null || v === '') continue;
    const d = v instanceof Date ? v : typeof v === 'string' || typeof v === 'number' ? new Date(v) : null;
    if (!d || Number.isNaN(d.getTime())) throw new Error(`front matter "${k}" is not a date: ${JSON.stringify(v)}`);
    return d.toISOString();
  }
  return null;
}

function tagsField(meta: Record<string, unknown>): string[] {
  for (const k of ['tags', 'keywords']) {
    const v = meta[k];
    if (v === undefined || v === null) continue;
    const list = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : [];
    return list.map((t) => String(t).trim()).filter(Boolean);
  }
  return [];
}

const ACCESS_KEYS = ['access', 'access_list', 'accessList', 'acl', 'allowed', 'visibility', 'principals', 'groups', 'audience'];

/**
 * The access list as written (typed principals, plain names are groups; see principals.ts), normalised and
 * checked; `['*']` only when the source gives no list at all. An empty or blank list means admins only.
 */
function accessField(meta: Record<string, unknown>): string[] {
  for (const k of ACCESS_KEYS) {
    const v = meta[k];
    if (v === undefined || v === null) continue;
    let list: unknown[];
    if (typeof v === 'string') list = v.split(/[,;]/);
    else if (Array.isArray(v)) list = v;
    else throw new Error(`front matter "${k}" must be a list of principals`);
    return parseAccessList(list);
  }
  return ['*'];
}


function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
