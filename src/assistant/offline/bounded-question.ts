/**
 * The bounded view of a question that the offline engine analyses. The API accepts up to 32,000 code points
 * (contract §7), but the offline engine matches words: it routes by wording and scores passages by the question's
 * words, with heuristics that are not all linear in the text (a run of 31,900 "?" kept a node busy ≈ 10 s). So
 * whatever the router and the extractor cost per character, they only ever see a short text:
 *
 * - whitespace runs become one space (or one newline when they held a line break);
 * - runs of punctuation and symbols keep their first {@link MAX_PUNCTUATION_RUN} characters ("???" stays, "????…"
 *   is cut);
 * - a word keeps at most {@link MAX_WORD_CODE_POINTS} code points;
 * - at most {@link MAX_WORDS} words are kept: the first {@link HEAD_WORDS} and the last ones (a long paste
 *   usually ends with the actual question), with "…" where words were left out;
 * - the whole view is at most {@link MAX_VIEW_CODE_POINTS} code points.
 *
 * Typed questions are far inside these limits (a question is rarely more than 30 words), so for them the view
 * only tidies whitespace and punctuation runs; the limits are documented in docs/security.md. Every step here is
 * a single pass.
 */
import { truncateCodePoints } from '../text.ts';

export const MAX_WORDS = 100;
export const HEAD_WORDS = 60;
export const MAX_WORD_CODE_POINTS = 100;
export const MAX_PUNCTUATION_RUN = 3;
export const MAX_VIEW_CODE_POINTS = 2000;

// A run of more than MAX_PUNCTUATION_RUN punctuation or symbol characters: no nested quantifier, one match per run.
const LONG_PUNCTUATION_RUN = /([\p{P}\p{S}]{3})[\p{P}\p{S}]+/gu;

/** The bounded view of `text` (see the module comment). Linear in the length of `text`. */
export function boundedQuestion(text: string): string {
  // Tokens alternate with the whitespace runs between them (split with a capture keeps both).
  const parts = text.trim().split(/(\s+)/);
  const words: string[] = [];
  const separators: string[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const word = parts[i] as string;
    if (word === '') continue;
    if (words.length > 0) separators.push((parts[i - 1] ?? ' ').includes('\n') ? '\n' : ' ');
    words.push(truncateCodePoints(word.replace(LONG_PUNCTUATION_RUN, '$1'), MAX_WORD_CODE_POINTS));
  }
  const join = (from: number, to: number): string => {
    let s = words[from] ?? '';
    for (let i = from + 1; i < to; i++) s += `${separators[i - 1] ?? ' '}${words[i] ?? ''}`;
    return s;
  };
  const out = words.length <= MAX_WORDS ? join(0, words.length) : `${join(0, HEAD_WORDS)} … ${join(words.length - (MAX_WORDS - HEAD_WORDS), words.length)}`;
  return truncateCodePoints(out, MAX_VIEW_CODE_POINTS);
}
