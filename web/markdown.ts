import { Parser, type Node as MdNode } from 'commonmark';
import { h, safeUrl } from './dom.ts';

/**
 * CommonMark to DOM nodes, text only: raw HTML in the source is shown as the literal text it is, images are
 * not loaded (shown as links), and links are kept only for http, https and mailto. Citation markers arrive as
 * private-use characters placed at the contract's code-point offsets before parsing; `marker(i)` turns marker
 * number i back into an element wherever the text ended up.
 */
export const MARKER_BASE = 0xe000;
const MARKER_RE = /[\ue000-\uf8ff]/;
const MARKERS_ALL = /[\ue000-\uf8ff]/g;

const parser = new Parser();

export interface RenderOptions {
  marker: (index: number) => Node;
}

/** Inserts marker i (a private-use character) after the code point at each reference's offset. */
export function withMarkers(text: string, offsets: number[]): string {
  const cps = Array.from(text.replace(MARKERS_ALL, ''));
  const at = new Map<number, string>();
  offsets.forEach((off, i) => {
    const pos = Math.max(0, Math.min(cps.length, off));
    at.set(pos, (at.get(pos) ?? '') + String.fromCharCode(MARKER_BASE + i));
  });
  let out = '';
  for (let i = 0; i <= cps.length; i++) out += (at.get(i) ?? '') + (cps[i] ?? '');
  return out;
}

export function renderMarkdown(source: string, opts: RenderOptions): DocumentFragment {
  const placed = new Set<number>();
  const text = (s: string): Node[] => {
    if (!MARKER_RE.test(s)) return [document.createTextNode(s)];
    const out: Node[] = [];
    let run = '';
    for (const ch of s) {
      const code = ch.charCodeAt(0);
      if (code >= MARKER_BASE && code <= 0xf8ff) {
        if (run) out.push(document.createTextNode(run));
        run = '';
        placed.add(code - MARKER_BASE);
        out.push(opts.marker(code - MARKER_BASE));
      } else run += ch;
    }
    if (run) out.push(document.createTextNode(run));
    return out;
  };
  const children = (n: MdNode): Node[] => {
    const out: Node[] = [];
    for (let c = n.firstChild; c; c = c.next) out.push(...node(c));
    return out;
  };
  const node = (n: MdNode): Node[] => {
    switch (n.type) {
      case 'text':
      case 'html_inline':
        return text(n.literal ?? '');
      case 'html_block':
        return [h('p', {}, ...text(n.literal ?? ''))];
      case 'softbreak':
        return [document.createTextNode(' ')];
      case 'linebreak':
        return [h('br')];
      case 'emph':
        return [h('em', {}, ...children(n))];
      case 'strong':
        return [h('strong', {}, ...children(n))];
      case 'code':
        return [h('code', {}, ...text(n.literal ?? ''))];
      case 'code_block':
        return [h('pre', {}, h('code', {}, ...text(n.literal ?? '')))];
      case 'paragraph':
        return [h('p', {}, ...children(n))];
      case 'heading':
        // Answers sit inside the page's own heading structure: keep them below it.
        return [h(`h${Math.min(6, Math.max(3, (n.level ?? 1) + 2))}` as 'h3', {}, ...children(n))];
      case 'block_quote':
        return [h('blockquote', {}, ...children(n))];
      case 'list': {
        const attrs: Record<string, string> = {};
        if (n.listType === 'ordered' && n.listStart !== null && n.listStart !== 1) attrs['start'] = String(n.listStart);
        return [h(n.listType === 'ordered' ? 'ol' : 'ul', attrs, ...children(n))];
      }
      case 'item':
        return [h('li', {}, ...children(n))];
      case 'thematic_break':
        return [h('hr')];
      case 'link':
      case 'image': {
        const href = safeUrl((n.destination ?? '').replace(MARKERS_ALL, ''));
        const inner = children(n);
        if (!href) return inner;
        return [h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow' }, ...(inner.length ? inner : [href]))];
      }
      default:
        return children(n);
    }
  };
  const frag = document.createDocumentFragment();
  frag.append(...children(parser.parse(source)));
  return Object.assign(frag, { placed });
}

/** Markers that found no place in the rendered text (e.g. an offset inside a link address). */
export function unplaced(frag: DocumentFragment, count: number): number[] {
  const placed = (frag as DocumentFragment & { placed?: Set<number> }).placed ?? new Set<number>();
  return Array.from({ length: count }, (_, i) => i).filter((i) => !placed.has(i));
}

/** Plain text of CommonMark (citation titles and passages), with blocks and line breaks as spaces. */
export function markdownToPlain(source: string): string {
  const walker = parser.parse(source).walker();
  let out = '';
  for (let e = walker.next(); e; e = walker.next()) {
    const t = e.node.type;
    if (e.entering && (t === 'text' || t === 'code' || t === 'code_block' || t === 'html_inline' || t === 'html_block')) out += e.node.literal ?? '';
    else if (t === 'softbreak' || t === 'linebreak' || (!e.entering && (t === 'paragraph' || t === 'heading' || t === 'item'))) out += ' ';
  }
  return out.replace(MARKERS_ALL, '').replace(/\s+/g, ' ').trim();
}
