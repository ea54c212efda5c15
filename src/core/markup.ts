/**
 * Document content is data, never markup (contract §8): answers, reasoning and citation text carry text-level
 * CommonMark only. Whatever an article or a model wrote:
 *  - HTML never goes live: every `<` that could open a tag, comment, declaration, processing instruction or
 *    autolink (`<` + letter, `/`, `!` or `?`) is backslash-escaped, so it shows as the characters it is;
 *  - links and reference definitions keep only `http:`, `https:` and `mailto:` destinations; any other
 *    (`javascript:`, `data:`, relative, entity-obfuscated, `<…>`-wrapped) is broken with a backslash so the text
 *    shows as written and nothing is clickable;
 *  - images never load (`![` becomes `!\[`): an image URL is a request made on the reader's behalf;
 *  - a citation's URL is http(s), mailto or Parley's own `urn:parley:` name for a source without a page.
 * Only backslashes are inserted (never removed or replaced), so the result is idempotent and citation offsets
 * (code points) move by the number of insertions before them. Code spans get the same treatment: a stray
 * backslash in code is a lesser evil than a parser difference that lets markup through.
 */

const ALLOWED_DESTINATION = /^(?:https?:\/\/|mailto:)/i;

export interface SafeText {
  text: string;
  /** Code-point positions in the input before which a backslash was inserted, ascending. */
  insertedAt: number[];
}

/** Number of backslashes immediately before UTF-16 index `i`. */
function backslashesBefore(s: string, i: number): number {
  let n = 0;
  while (i - n - 1 >= 0 && s.charCodeAt(i - n - 1) === 0x5c) n++;
  return n;
}

/** The destination text after `](` or `]:` at UTF-16 index `from`: leading spaces, tabs and one line end skipped. */
function destinationAt(s: string, from: number): string {
  let i = from;
  while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  if (s[i] === '\r') i++;
  if (s[i] === '\n') i++;
  while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  return s.slice(i, i + 8);
}

/** Neutralises markup in CommonMark text (see the module comment); reports where backslashes went in. */
export function safeMarkdown(s: string): SafeText {
  let out = '';
  const insertedAt: number[] = [];
  let cp = 0; // code-point index of s[i]
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const next = s[i + 1] ?? '';
    let escape = false;
    if (c === '<') {
      escape = /[A-Za-z/!?]/.test(next) && backslashesBefore(s, i) % 2 === 0;
    } else if (c === '[' && i > 0 && s[i - 1] === '!') {
      // An image opener: the `!` itself not escaped (an escaped `!` leaves a plain link, judged below).
      escape = backslashesBefore(s, i - 1) % 2 === 0;
    } else if ((c === '(' || c === ':') && i > 0 && s[i - 1] === ']') {
      escape = !ALLOWED_DESTINATION.test(destinationAt(s, i + 1));
    }
    if (escape) {
      out += '\\';
      insertedAt.push(cp);
    }
    out += c;
    const code = s.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        out += s[i + 1];
        i++;
      }
    }
    cp++;
  }
  return { text: out, insertedAt };
}

/** Safe text only (titles, citation bodies, reasoning). */
export function safeMarkdownText(s: string): string {
  return safeMarkdown(s).text;
}

/** Where a code-point offset of the input lands in the output: after the insertions strictly before it. */
export function shiftOffset(offset: number, insertedAt: readonly number[]): number {
  let lo = 0;
  let hi = insertedAt.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (insertedAt[mid]! < offset) lo = mid + 1;
    else hi = mid;
  }
  return offset + lo;
}

/** True for a URL a reader may safely be sent to: http, https or mailto. */
export function isSafeUrl(url: string): boolean {
  return ALLOWED_DESTINATION.test(url) && !/[\s<>"]/.test(url);
}

/**
 * True for a citation's `url`: a safe link, or Parley's own identifier for a source that has no page
 * (`urn:parley:doc:…`, `urn:parley:person:…`), which names the source and is never navigated to.
 */
export function isSafeCitationUrl(url: string): boolean {
  return isSafeUrl(url) || (/^urn:parley:(doc|person):/i.test(url) && !/[\s<>"]/.test(url));
}
