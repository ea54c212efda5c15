/**
 * The regular-expression implementation of `stripMarkers` that the linear scanner replaced, kept only as an
 * oracle for property tests on SHORT inputs: its tail pattern is exponential (`"[\t "×18 + "x"` took 27 s).
 */
import { codePointLength } from '../../src/assistant/text.ts';

/** A marker number and the code-point offset in the cleaned text where it applies. */
interface MarkerRef {
  n: number;
  offset: number;
}

interface StrippedText {
  text: string;
  refs: MarkerRef[];
}

// One group is `[1]` or `[1, 2]`; groups may follow each other with spaces between them.
const GROUP = String.raw`\[[ \t]*\d{1,4}(?:[ \t]*,[ \t]*\d{1,4})*[ \t]*\]`;
const MARKER_RUN = new RegExp(`${GROUP}(?:[ \\t]*${GROUP})*`, 'y');
// Punctuation that closes a sentence or clause: a marker written before it ("Foo [1].") belongs after it.
const CLOSING = new Set([...'.,;:!?)…。，、；：！？）']);
// What the end of a streamed text may hold that the next delta could turn into (part of) a marker.
const UNSETTLED_TAIL = /(?:\s|\[[\d \t,]*\]?)*$/;
const TAIL_WINDOW = 80;

/**
 * Removes citation markers from `raw` and returns the cleaned text with each marker's number and offset.
 * While streaming (`final: false`) an unsettled tail (trailing whitespace, `[`, `[1`, even a complete `[1]`
 * that a `[2]` or `.` may still follow) is held back, so no snapshot shows a partial marker and each
 * snapshot's text is a prefix of the next. Markers inside code spans and link texts (`[1](url)`) are kept.
 */
export function referenceStripMarkers(raw: string, final: boolean): StrippedText {
  let src = raw;
  if (!final) {
    const start = Math.max(0, src.length - TAIL_WINDOW);
    const tail = src.slice(start);
    const m = UNSETTLED_TAIL.exec(tail);
    if (m && m[0].length > 0) src = src.slice(0, src.length - m[0].length);
  }

  let out = '';
  let outLen = 0; // code points in `out`
  const refs: MarkerRef[] = [];
  const append = (s: string): void => {
    out += s;
    outLen += codePointLength(s);
  };

  let i = 0;
  while (i < src.length) {
    const next = nextSpecial(src, i);
    if (next > i) append(src.slice(i, next));
    if (next >= src.length) break;
    i = next;

    if (src[i] === '`') {
      const run = backtickRun(src, i);
      const close = findClosingRun(src, i + run, run);
      const end = close < 0 ? i + run : close + run;
      append(src.slice(i, end));
      i = end;
      continue;
    }

    // src[i] === '['
    MARKER_RUN.lastIndex = i;
    const m = MARKER_RUN.exec(src);
    if (!m || src[i + m[0].length] === '(') {
      append('[');
      i++;
      continue;
    }
    i += m[0].length;

    // "foo [1]" → "foo": the space before a marker goes with it.
    while (out.endsWith(' ') || out.endsWith('\t')) {
      out = out.slice(0, -1);
      outLen--;
    }
    // "foo [1]. Bar" → "foo." with the reference after the full stop.
    let punct = '';
    while (i < src.length && CLOSING.has(src[i] as string)) punct += src[i++];
    append(punct);
    // A marker on a line of its own: drop the spaces that followed it.
    if (out === '' || out.endsWith('\n')) {
      while (i < src.length && (src[i] === ' ' || src[i] === '\t')) i++;
    }

    let offset = outLen;
    for (let k = out.length - 1; k >= 0 && /\s/.test(out[k] as string); k--) offset--;
    for (const digits of m[0].match(/\d+/g) ?? []) refs.push({ n: Number(digits), offset });
  }
  return { text: out, refs };
}

function nextSpecial(s: string, from: number): number {
  for (let j = from; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5b /* [ */ || c === 0x60 /* ` */) return j;
  }
  return s.length;
}

function backtickRun(s: string, at: number): number {
  let n = 0;
  while (s[at + n] === '`') n++;
  return n;
}

/** Start of the next run of exactly `len` backticks at or after `from`, or -1 (CommonMark code spans). */
function findClosingRun(s: string, from: number, len: number): number {
  let j = s.indexOf('`', from);
  while (j >= 0) {
    const run = backtickRun(s, j);
    if (run === len) return j;
    j = s.indexOf('`', j + run);
  }
  return -1;
}
