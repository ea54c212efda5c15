/** One document file (Markdown, text, HTML, PDF, DOCX) with its metadata → a `SourceDocument`. */
import { basename } from 'node:path';
import { docxToMarkdown, pdfToMarkdown } from './binary-docs.ts';
import { decodeText } from './encoding.ts';
import { checkReadable, FileError, readWithin, type IngestRoot } from './files.ts';
import { FrontMatterError, splitFrontMatter } from './front-matter.ts';
import { htmlToMarkdown } from './html.ts';
import { mergeMetadata, metaTagsToRaw, readMetadata, type Metadata } from './metadata.ts';
import { isRecord } from './parse-people.ts';
import { parseAccessList } from './principals.ts';
import type { SourceDocument, SourceError } from './sources.ts';

export interface ParseOptions {
  /** Base of document URLs when a source gives none: base + relative path. */
  documentBaseUrl?: string;
  /** Largest file read, bytes (default MAX_FILE_BYTES). */
  maxFileBytes?: number;
  /** People directory columns read as a field (normalized column → field), from `--map "Column=field"`. */
  columnMap?: Record<string, string>;
}

/**
 * Prefix of the identifier a document gets when neither its metadata nor the assistant's configuration gives a url:
 * an absolute URI that is honestly not a link (no made-up web address), stable when the folder moves.
 */
export const UNLINKED_DOCUMENT_PREFIX = 'urn:parley:doc:';

/** Largest single file read by default: 32 MiB. */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;

export const DOC_EXT: Record<string, SourceDocument['format']> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.mdx': 'markdown',
  '.txt': 'text',
  '.text': 'text',
  '.html': 'html',
  '.htm': 'html',
  '.pdf': 'pdf',
  '.docx': 'docx',
};

/** Reads a text file in whatever encoding it is in (see `decodeText`), noting a conversion against `rel`. */
export function readText(root: IngestRoot, file: string, maxBytes: number, rel: string, notes: SourceError[]): string {
  const { text, convertedFrom } = decodeText(readWithin(root, file, maxBytes));
  if (convertedFrom) notes.push({ path: rel, reason: `read as ${convertedFrom} (not UTF-8) and converted` });
  return text;
}

/** JSON.parse, with an error that gives the position only (V8's message quotes the text). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const pos = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new FileError(`invalid JSON${pos ? ` at character ${pos}` : ''}`);
  }
}

/**
 * Parses one document file with its metadata (front matter, `<meta>` tags, `<file>.meta.json` sidecar). `notes` gets
 * what was done to the file that its owner should know (an encoding converted).
 */
export async function parseDocument(
  root: IngestRoot,
  file: string,
  rel: string,
  format: SourceDocument['format'],
  opts: ParseOptions = {},
  notes: SourceError[] = [],
): Promise<SourceDocument> {
  const maxBytes = opts.maxFileBytes ?? MAX_FILE_BYTES;
  const sources: Metadata[] = [];
  let body: string;
  let docTitle: string | null = null;
  if (format === 'pdf' || format === 'docx') {
    const bytes = readWithin(root, file, maxBytes);
    const converted = format === 'pdf' ? await pdfToMarkdown(bytes) : await docxToMarkdown(bytes);
    body = converted.markdown;
    docTitle = converted.title;
  } else {
    const raw = readText(root, file, maxBytes, rel, notes);
    if (raw.includes('\u0000')) throw new Error('binary content');
    let fm;
    try {
      fm = splitFrontMatter(raw);
    } catch (err) {
      if (err instanceof FrontMatterError) throw err;
      throw new Error('invalid front matter');
    }
    body = fm.body;
    if (format === 'html') {
      const h = htmlToMarkdown(fm.body);
      body = h.markdown;
      docTitle = h.title;
      sources.push(readMetadata(metaTagsToRaw(h.meta), '<meta> tags'));
    }
    if (fm.data) sources.push(readMetadata(fm.data, 'front matter'));
  }
  const sidecar = `${file}.meta.json`;
  if (checkReadable(root, sidecar) === 'ok') {
    let data: unknown;
    try {
      data = parseJson(readText(root, sidecar, 1024 * 1024, rel, notes));
    } catch (err) {
      throw new Error(`invalid sidecar ${basename(sidecar)}: ${reasonOf(err)}`);
    }
    if (!isRecord(data)) throw new Error(`invalid sidecar ${basename(sidecar)}: expected an object`);
    sources.push(readMetadata(data, `sidecar ${basename(sidecar)}`));
  }
  const meta = mergeMetadata(...sources);
  body = body.replace(/\r\n?/g, '\n').trim();
  if (format === 'text') body = textToMarkdown(body);
  const title = textField(meta.title) ?? docTitle ?? titleFromBody(body, format) ?? titleFromPath(rel);
  const given = textField(meta.url);
  if (given !== undefined && !/^https?:\/\/\S+$/i.test(given)) throw new Error('url must be an absolute http(s) URL');
  const url = given ?? defaultUrl(rel, opts);
  if (!body) throw new Error('empty document');
  const id = textField(meta.id);
  return {
    path: rel,
    ...(id ? { id } : {}),
    format,
    title: title.trim(),
    url,
    updatedAt: dateField(meta.updated),
    access: accessField(meta.access),
    tags: listField(meta.tags),
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

/** The first ATX heading (Markdown) or a title-like first line (text). Scans line by line: linear in the body. */
export function titleFromBody(body: string, format: SourceDocument['format']): string | null {
  if (format === 'markdown' || format === 'text') {
    for (const line of body.split('\n')) {
      const h = atxHeading1(line, format === 'markdown' ? 3 : 0);
      if (h) return h;
    }
  }
  if (format === 'text') {
    const [first, second] = body.split('\n', 2);
    if (first && first.length <= 100 && !/[.!?:]$/.test(first.trim()) && (second === undefined || !second.trim())) return first.trim();
  }
  return null;
}

/** The text of a level-1 ATX heading line (`# Title #`), or null. Plain string operations: no backtracking. */
function atxHeading1(line: string, maxIndent: number): string | null {
  let i = 0;
  while (i < line.length && line[i] === ' ' && i <= maxIndent) i++;
  if (i > maxIndent || line[i] !== '#') return null;
  const next = line[i + 1];
  if (next !== ' ' && next !== '\t') return null;
  let text = line.slice(i + 2).trim();
  // A closing sequence of #s preceded by a space is not part of the heading.
  let end = text.length;
  while (end > 0 && text[end - 1] === '#') end--;
  const stripped = text.slice(0, end);
  if (end < text.length && (stripped === '' || stripped.endsWith(' ') || stripped.endsWith('\t'))) text = stripped.trim();
  return text || null;
}

function titleFromPath(rel: string): string {
  const name = basename(rel).replace(/\.[^.]+$/, '').replace(/[-_]+/g, ' ').trim();
  return name ? name[0]!.toUpperCase() + name.slice(1) : rel;
}

function defaultUrl(rel: string, opts: ParseOptions): string {
  if (!opts.documentBaseUrl) return UNLINKED_DOCUMENT_PREFIX + rel.split('/').map(encodeURIComponent).join('/');
  const base = opts.documentBaseUrl;
  return base.replace(/\/?$/, '/') + rel.split('/').map(encodeURIComponent).join('/');
}

function textField(v: string | number | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim();
  return s || undefined;
}

function dateField(v: Metadata['updated']): string | null {
  if (v === undefined) return null;
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error('metadata "updated" is not a date');
  return d.toISOString();
}

function listField(v: Metadata['tags']): string[] {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? v.split(',') : v;
  return list.map((t) => String(t).trim()).filter(Boolean);
}

/**
 * The access list as written (typed principals, plain names are groups; see principals.ts), normalised and
 * checked; `['*']` only when the metadata gives no list at all. An empty or blank list means admins only.
 */
function accessField(v: Metadata['access']): string[] {
  if (v === undefined) return ['*'];
  return parseAccessList(typeof v === 'string' ? v.split(/[,;]/) : v);
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
