/**
 * HTML → CommonMark for ingestion: keeps headings, paragraphs, lists, code and tables; drops chrome and scripts.
 * Text is decoded once (by the parser) and then escaped for CommonMark, so `&lt;script&gt;` in a page is stored as
 * the text "<script>" (written `\<script>`), never as markup that a renderer would run.
 */
import { parse, HTMLElement, TextNode, type Node } from 'node-html-parser';

export interface HtmlDocument {
  title: string | null;
  /** `<meta name|property="..." content="...">` pairs in page order, then `<link rel="canonical">` as `canonical`. */
  meta: { name: string; content: string }[];
  /** `href`s of the page's links, as written (for crawling). */
  links: string[];
  markdown: string;
}

const SKIP = new Set(['script', 'style', 'noscript', 'template', 'nav', 'header', 'footer', 'svg', 'head', 'iframe', 'form', 'button']);
const BLOCK = new Set(['p', 'div', 'section', 'article', 'main', 'aside', 'body', 'html', 'figure', 'figcaption', 'dl', 'dd', 'dt', 'details', 'summary']);

export function htmlToMarkdown(html: string): HtmlDocument {
  const root = parse(html, { comment: false, blockTextElements: { script: false, style: false } });
  const meta: { name: string; content: string }[] = [];
  for (const m of root.querySelectorAll('meta')) {
    const name = m.getAttribute('name') ?? m.getAttribute('property') ?? '';
    const content = m.getAttribute('content');
    if (name && content !== undefined) meta.push({ name, content });
  }
  const canonical = root.querySelector('link[rel="canonical"]')?.getAttribute('href');
  if (canonical) meta.push({ name: 'canonical', content: canonical });
  const titleEl = root.querySelector('title');
  const h1 = root.querySelector('h1');
  const title = clean(titleEl?.text ?? '') || clean(h1?.text ?? '') || null;
  const out: string[] = [];
  const body = root.querySelector('body') ?? root;
  walk(body, out);
  const links = root.querySelectorAll('a[href]').map((a) => a.getAttribute('href') ?? '').filter(Boolean);
  return { title, meta, links, markdown: out.join('\n\n').replace(/\n{3,}/g, '\n\n').trim() };
}

function walk(node: Node, out: string[]): void {
  let inline = '';
  const flushInline = () => {
    const t = clean(inline);
    if (t) out.push(t);
    inline = '';
  };
  for (const child of node.childNodes) {
    if (child instanceof TextNode) {
      inline += escapeText(child.text);
      continue;
    }
    if (!(child instanceof HTMLElement)) continue;
    const tag = child.rawTagName?.toLowerCase() ?? '';
    if (SKIP.has(tag)) continue;
    const h = tag.match(/^h([1-6])$/);
    if (h) {
      flushInline();
      const t = clean(inlineText(child));
      if (t) out.push(`${'#'.repeat(Number(h[1]))} ${t}`);
    } else if (tag === 'ul' || tag === 'ol') {
      flushInline();
      let n = 1;
      const items: string[] = [];
      for (const li of child.childNodes) {
        if (!(li instanceof HTMLElement) || li.rawTagName.toLowerCase() !== 'li') continue;
        const t = clean(inlineText(li));
        if (t) items.push(`${tag === 'ol' ? `${n++}.` : '-'} ${t}`);
      }
      // Each item is its own block to the chunker; a single line break keeps them one list.
      if (items.length) out.push(items.join('\n'));
    } else if (tag === 'pre') {
      flushInline();
      const code = plainText(child).replace(/^\n/, '').replace(/\n+$/, '');
      const fence = '`'.repeat(Math.max(3, longestRun(code, '`') + 1));
      out.push(`${fence}\n${code}\n${fence}`);
    } else if (tag === 'table') {
      flushInline();
      const rows = child.querySelectorAll('tr').map((tr) =>
        tr.childNodes
          .filter((c): c is HTMLElement => c instanceof HTMLElement && /^t[hd]$/i.test(c.rawTagName))
          .map((c) => clean(inlineText(c)).replace(/\|/g, '\\|')),
      );
      const lines = rows.filter((r) => r.length).map((r) => `| ${r.join(' | ')} |`);
      if (lines.length) {
        const cols = rows[0]!.length;
        lines.splice(1, 0, `|${' --- |'.repeat(cols)}`);
        out.push(lines.join('\n'));
      }
    } else if (tag === 'br') {
      inline += ' ';
    } else if (tag === 'blockquote') {
      flushInline();
      const t = clean(inlineText(child));
      if (t) out.push('> ' + t);
    } else if (BLOCK.has(tag) || tag === 'li') {
      flushInline();
      walk(child, out);
    } else {
      inline += inlineMarkdown(child);
    }
  }
  flushInline();
}

function inlineText(el: HTMLElement): string {
  let s = '';
  for (const c of el.childNodes) {
    if (c instanceof TextNode) s += escapeText(c.text);
    else if (c instanceof HTMLElement) {
      const tag = c.rawTagName.toLowerCase();
      if (SKIP.has(tag)) continue;
      if (tag === 'ul' || tag === 'ol' || tag === 'p' || tag === 'div' || tag === 'br') s += ' ';
      s += tag === 'ul' || tag === 'ol' ? inlineText(c) : inlineMarkdown(c);
    }
  }
  return s;
}

function inlineMarkdown(el: HTMLElement): string {
  const tag = el.rawTagName.toLowerCase();
  const inner = inlineText(el);
  switch (tag) {
    case 'strong':
    case 'b':
      return inner.trim() ? `**${inner.trim()}**` : inner;
    case 'em':
    case 'i':
      return inner.trim() ? `*${inner.trim()}*` : inner;
    case 'code': {
      const code = plainText(el).replace(/\s+/g, ' ');
      if (!code.trim()) return code;
      const ticks = '`'.repeat(longestRun(code, '`') + 1);
      const pad = code.startsWith('`') || code.endsWith('`') ? ' ' : '';
      return ticks + pad + code + pad + ticks;
    }
    case 'a': {
      const href = el.getAttribute('href')?.trim();
      // Only web and mail links; characters that would end the link or start markup are percent-encoded.
      if (!href || !/^(https?:\/\/|mailto:)/i.test(href) || !inner.trim()) return inner;
      return `[${inner.trim()}](${href.replace(/[\s()<>\\`]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'))})`;
    }
    default:
      return inner;
  }
}

function clean(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The decoded text of an element and its descendants, as is (for code: no Markdown escaping inside code). */
function plainText(el: HTMLElement): string {
  let s = '';
  for (const c of el.childNodes) {
    if (c instanceof TextNode) s += c.text;
    else if (c instanceof HTMLElement) {
      const tag = c.rawTagName.toLowerCase();
      if (SKIP.has(tag)) continue;
      s += tag === 'br' ? '\n' : plainText(c);
    }
  }
  return s;
}

function longestRun(s: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of s) {
    run = c === ch ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/**
 * Escapes decoded text so that CommonMark reads it as text: a `<` that could open a tag, brackets and backticks
 * (links and code), and backslashes before punctuation. Emphasis characters are left alone: they cannot run code.
 */
export function escapeText(s: string): string {
  return s
    .replace(/\\(?=[!-/:-@[-`{-~])/g, '\\\\')
    .replace(/<(?=[A-Za-z/!?])/g, '\\<')
    .replace(/[[\]`]/g, '\\$&');
}
