/**
 * Splits a CommonMark document into passages along headings and paragraphs: each chunk keeps its heading path,
 * aims at 150–300 words, and never splits a sentence (a block that is too long is cut between sentences).
 */
import { countWords, splitSentences } from './sentences.ts';

/** Bump when chunking changes: documents are re-chunked on the next ingest even if their files did not change. */
export const CHUNKER_VERSION = 2;

export interface Chunk {
  ord: number;
  /** Heading path inside the document, e.g. "Remote access > Reset steps"; '' before the first heading. */
  heading: string;
  /** CommonMark text of the passage. */
  text: string;
}

export interface ChunkOptions {
  minWords?: number;
  maxWords?: number;
}

type BlockKind = 'heading' | 'paragraph' | 'list' | 'code' | 'table' | 'quote';
interface Block {
  kind: BlockKind;
  text: string;
  level?: number;
}

/** Parses the block structure we need: ATX/setext headings, paragraphs, list items, fences, tables, quotes. */
export function parseBlocks(markdown: string): Block[] {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let para: string[] = [];
  let kind: BlockKind = 'paragraph';
  const flush = () => {
    if (para.length) {
      const text = kind === 'paragraph' ? para.map((l) => l.trim()).join(' ') : para.join('\n');
      if (text.trim()) blocks.push({ kind, text: kind === 'paragraph' ? text : text.trimEnd() });
    }
    para = [];
    kind = 'paragraph';
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = line.match(/^\s{0,3}(`{3,}|~{3,})/);
    if (fence) {
      flush();
      const marker = fence[1]!;
      const body = [line];
      while (++i < lines.length) {
        body.push(lines[i]!);
        if (lines[i]!.trimStart().startsWith(marker)) break;
      }
      blocks.push({ kind: 'code', text: body.join('\n') });
      continue;
    }
    const atx = line.match(/^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/);
    if (atx) {
      flush();
      blocks.push({ kind: 'heading', level: atx[1]!.length, text: atx[2]!.trim() });
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    const setext = lines[i + 1]?.match(/^\s{0,3}(=+|-+)\s*$/);
    if (setext && kind === 'paragraph' && para.length === 0 && !/^\s*([-*+]|\d+[.)])\s/.test(line)) {
      blocks.push({ kind: 'heading', level: setext[1]!.startsWith('=') ? 1 : 2, text: line.trim() });
      i++;
      continue;
    }
    if (/^\s{0,3}([-*+]|\d{1,9}[.)])\s+/.test(line)) {
      flush();
      kind = 'list';
      para.push(line.trimEnd());
      continue;
    }
    if (/^\s*\|/.test(line)) {
      if (kind !== 'table') flush();
      kind = 'table';
      para.push(line.trim());
      continue;
    }
    if (/^\s{0,3}>/.test(line)) {
      if (kind !== 'quote') flush();
      kind = 'quote';
      para.push(line.trim());
      continue;
    }
    if (kind === 'table' || kind === 'quote') flush();
    // A list item's continuation line stays in the item.
    para.push(kind === 'list' ? '  ' + line.trim() : line);
  }
  flush();
  return blocks;
}

interface Unit {
  text: string;
  words: number;
  /** List items join with a single line break; everything else with a blank line. */
  list: boolean;
}

/** Chunks a document. `title` is left out of heading paths when the document's H1 repeats it. */
export function chunkDocument(title: string, markdown: string, opts: ChunkOptions = {}): Chunk[] {
  const maxWords = opts.maxWords ?? 300;
  const blocks = parseBlocks(markdown);
  const chunks: Chunk[] = [];
  const path: { level: number; text: string }[] = [];
  let section: Block[] = [];
  const headingPath = () =>
    path
      .filter((h, i) => !(i === 0 && h.level === 1 && sameText(h.text, title)))
      .map((h) => stripInline(h.text))
      .join(' > ');

  const emit = (heading: string) => {
    const units: Unit[] = [];
    for (const b of section) {
      const words = countWords(b.text);
      if (words > maxWords && (b.kind === 'paragraph' || b.kind === 'quote' || b.kind === 'list')) {
        for (const s of splitSentences(b.text)) units.push({ text: s.text, words: countWords(s.text), list: false });
      } else {
        units.push({ text: b.text, words, list: b.kind === 'list' });
      }
    }
    section = [];
    const total = units.reduce((n, u) => n + u.words, 0);
    if (total === 0) return;
    const pieces = Math.ceil(total / maxWords);
    const target = total / pieces;
    let cur: Unit[] = [];
    let curWords = 0;
    const flush = () => {
      if (!cur.length) return;
      // An introduction ending with ':' belongs with what it introduces.
      const carry: Unit[] = [];
      while (cur.length > 1 && cur[cur.length - 1]!.text.trimEnd().endsWith(':')) carry.unshift(cur.pop()!);
      chunks.push({ ord: chunks.length, heading, text: joinUnits(cur) });
      cur = carry;
      curWords = carry.reduce((n, u) => n + u.words, 0);
    };
    for (const u of units) {
      if (cur.length && (curWords + u.words > maxWords || curWords >= target)) flush();
      cur.push(u);
      curWords += u.words;
    }
    flush();
  };

  for (const b of blocks) {
    if (b.kind === 'heading') {
      emit(headingPath());
      const level = b.level ?? 1;
      while (path.length && path[path.length - 1]!.level >= level) path.pop();
      path.push({ level, text: b.text });
      continue;
    }
    section.push(b);
  }
  emit(headingPath());
  return chunks;
}

function joinUnits(units: Unit[]): string {
  let out = '';
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    if (i > 0) out += u.list && units[i - 1]!.list ? '\n' : '\n\n';
    out += u.text;
  }
  return out;
}

function sameText(a: string, b: string): boolean {
  const n = (s: string) => stripInline(s).toLowerCase().replace(/\s+/g, ' ').trim();
  return n(a) === n(b);
}

/** Removes inline CommonMark markup (emphasis, code ticks, links) from a heading. */
export function stripInline(s: string): string {
  return s
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_`]+/g, '')
    .trim();
}
