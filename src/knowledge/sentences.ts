/** Sentence splitting shared by the chunker (never split a sentence) and the offline engine (quote sentences). */

export interface SentenceSpan {
  /** UTF-16 indices into the input, `text === input.slice(start, end)`, trimmed. */
  start: number;
  end: number;
  text: string;
}

// Words after which a period rarely ends a sentence. Lower case, without the final period.
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'approx', 'dept', 'inc', 'ltd',
  'co', 'corp', 'no', 'fig', 'a.m', 'p.m', 'cf', 'al', 'ext', 'min', 'max', 'est', 'ca', 'u.s', 'jan', 'feb',
  'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'mon', 'tue', 'wed', 'thu', 'fri',
]);

const CJK_TERMINATORS = '。！？';
const CLOSERS = `"'”’)]*_\``;

/**
 * Splits prose into sentences. A boundary is `.`, `!` or `?` (plus closing quotes/brackets/emphasis) followed by
 * whitespace and a token that can start a sentence, or a CJK full stop. Abbreviations, initials and decimals are
 * not boundaries. Line breaks alone are not boundaries: blocks are split before this is called.
 */
export function splitSentences(input: string): SentenceSpan[] {
  const out: SentenceSpan[] = [];
  let start = 0;
  const push = (end: number) => {
    const raw = input.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    const text = raw.trim();
    if (text) out.push({ start: start + lead, end: start + lead + text.length, text });
    start = end;
  };
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (CJK_TERMINATORS.includes(ch)) {
      let j = i + 1;
      while (j < input.length && CLOSERS.includes(input[j]!)) j++;
      push(j);
      i = j - 1;
      continue;
    }
    if (ch !== '.' && ch !== '!' && ch !== '?') continue;
    let j = i + 1;
    while (j < input.length && (input[j] === '.' || input[j] === '!' || input[j] === '?')) j++;
    while (j < input.length && CLOSERS.includes(input[j]!)) j++;
    if (j < input.length && !/\s/.test(input[j]!)) continue;
    let k = j;
    while (k < input.length && /\s/.test(input[k]!)) k++;
    if (k >= input.length) break; // the rest is the last sentence
    if (ch === '.' && !endsSentence(input, i, input[k]!)) continue;
    push(j);
    i = j - 1;
  }
  push(input.length);
  return out;
}

function endsSentence(input: string, dot: number, next: string): boolean {
  // The word right before the period.
  let w = dot;
  while (w > 0 && /[\p{L}\p{N}.]/u.test(input[w - 1]!)) w--;
  const word = input.slice(w, dot);
  const lower = word.toLowerCase();
  if (/^\d+$/.test(word) && /\d/.test(next)) return false; // "3. 5" oddities, decimals handled by no-space rule
  if (/^\p{Lu}$/u.test(word)) return false; // an initial: "J. Smith"
  if (ABBREVIATIONS.has(lower)) {
    // "etc." or "Inc." can end a sentence; trust an upper-case start only for those two.
    if ((lower === 'etc' || lower === 'inc' || lower === 'ltd') && /\p{Lu}/u.test(next)) return true;
    return false;
  }
  if (/^(?:\p{L}\.)+\p{L}$/u.test(word)) return false; // dotted acronyms ("U.S.") are usually mid-sentence
  // A lower-case continuation means the period was not a full stop ("approx. five", "v2. then").
  if (/\p{Ll}/u.test(next)) return false;
  return true;
}

/** Counts words; CJK ideographs count as half a word each (they are written without spaces). */
export function countWords(s: string): number {
  let n = 0;
  for (const m of s.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'’_-]*/gu)) {
    const cjk = m[0].match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/gu)?.length ?? 0;
    n += cjk === 0 ? 1 : Math.ceil(cjk / 2) + (cjk < m[0].length ? 1 : 0);
  }
  return n;
}
