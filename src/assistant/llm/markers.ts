/**
 * Citation markers: the model writes `[n]` (also `[1][2]`, `[1, 2]`, `[1] [2]`) after the sentence a source
 * supports; Parley strips them and keeps where they stood, in Unicode code points of the cleaned text.
 *
 * Model output is hostile input: everything here is a hand-written scanner whose work is linear in the text
 * (no backtracking regular expressions — a pattern such as `(?:\s|\[[\d \t,]*\]?)*$` is exponential on
 * `"[\t "×18 + "x"`), and no step re-reads or copies what was already produced.
 */
import { codePointLength } from '../text.ts';

/** A marker number and the code-point offset in the cleaned text where it applies. */
export interface MarkerRef {
  n: number;
  offset: number;
}

export interface StrippedText {
  text: string;
  refs: MarkerRef[];
}

// Punctuation that closes a sentence or clause: a marker written before it ("Foo [1].") belongs after it.
const CLOSING = new Set([...'.,;:!?)…。，、；：！？）']);
// How far back from the end of a streamed text an unsettled tail is looked for.
const TAIL_WINDOW = 80;
// A marker number has 1 to 4 digits: `[12345]` is not a marker.
const MAX_DIGITS = 4;

/**
 * Removes citation markers from `raw` and returns the cleaned text with each marker's number and offset.
 * While streaming (`final: false`) an unsettled tail (trailing whitespace, `[`, `[1`, even a complete `[1]`
 * that a `[2]` or `.` may still follow) is held back, so no snapshot shows a partial marker and each
 * snapshot's text is a prefix of the next. Markers inside code spans and link texts (`[1](url)`) are kept.
 */
export function stripMarkers(raw: string, final: boolean): StrippedText {
  const src = final ? raw : raw.slice(0, raw.length - unsettledTailLength(raw));
  const out = new Output();
  const refs: MarkerRef[] = [];
  const ticks = new BacktickRuns(src);

  let i = 0;
  while (i < src.length) {
    const next = nextSpecial(src, i);
    if (next > i) out.append(src.slice(i, next));
    if (next >= src.length) break;
    i = next;

    if (src.charCodeAt(i) === 0x60 /* ` */) {
      const run = backtickRun(src, i);
      const close = ticks.closing(i + run, run);
      const end = close < 0 ? i + run : close + run;
      out.append(src.slice(i, end));
      i = end;
      continue;
    }

    // src[i] === '['
    const run = markerRun(src, i);
    if (!run) {
      out.append('[');
      i++;
      continue;
    }
    if (src.charCodeAt(run.end) === 0x28 /* ( */) {
      // A link text (`[1](url)`, `[1] [2](url)`): every group of the run is kept as written.
      out.append(src.slice(i, run.end));
      i = run.end;
      continue;
    }
    i = run.end;

    // "foo [1]" → "foo": the space before a marker goes with it.
    out.trimSpacesAndTabs();
    // "foo [1]. Bar" → "foo." with the reference after the full stop.
    const punctStart = i;
    while (i < src.length && CLOSING.has(src[i] as string)) i++;
    if (i > punctStart) out.append(src.slice(punctStart, i));
    // A marker on a line of its own: drop the spaces that followed it.
    if (out.isEmpty() || out.endsWithNewline()) {
      while (i < src.length && (src[i] === ' ' || src[i] === '\t')) i++;
    }

    const offset = out.codePoints - out.trailingWhitespace;
    for (const n of run.numbers) refs.push({ n, offset });
  }
  return { text: out.toString(), refs };
}

/**
 * The cleaned text being built: parts joined once at the end, with its length in code points, its last
 * character and its count of trailing whitespace kept up to date, so no step re-reads it.
 */
class Output {
  private readonly parts: string[] = [];
  codePoints = 0;
  /** UTF-16 units of whitespace at the end (whitespace is all in the BMP, so also code points). */
  trailingWhitespace = 0;

  append(s: string): void {
    if (s === '') return;
    this.parts.push(s);
    this.codePoints += codePointLength(s);
    let k = s.length;
    while (k > 0 && isWhitespace(s.charCodeAt(k - 1))) k--;
    this.trailingWhitespace = k === 0 ? this.trailingWhitespace + s.length : s.length - k;
  }

  isEmpty(): boolean {
    return this.parts.length === 0;
  }

  endsWithNewline(): boolean {
    const last = this.parts[this.parts.length - 1];
    return last !== undefined && last.charCodeAt(last.length - 1) === 0x0a;
  }

  /** Drops trailing spaces and tabs; each dropped character was appended once, so this is amortised O(1). */
  trimSpacesAndTabs(): void {
    while (this.parts.length > 0) {
      const last = this.parts[this.parts.length - 1] as string;
      let k = last.length;
      while (k > 0 && isSpaceOrTab(last.charCodeAt(k - 1))) k--;
      const removed = last.length - k;
      this.codePoints -= removed;
      this.trailingWhitespace -= removed;
      if (k > 0) {
        if (removed > 0) this.parts[this.parts.length - 1] = last.slice(0, k);
        return;
      }
      this.parts.pop();
    }
  }

  toString(): string {
    return this.parts.join('');
  }
}

/** A run of marker groups starting at a `[`: where it ends and the numbers it holds, in order. */
interface MarkerRun {
  end: number;
  numbers: number[];
}

/**
 * The marker run at `at`: one group `[1]` or `[1, 2]` (spaces and tabs allowed inside and between numbers),
 * then more groups each after optional spaces and tabs. Null when `at` does not start a complete group.
 * Each character is read at most twice (spaces before a group that turns out incomplete).
 */
function markerRun(s: string, at: number): MarkerRun | null {
  const first = markerGroup(s, at);
  if (!first) return null;
  const numbers = first.numbers;
  let end = first.end;
  for (;;) {
    let j = end;
    while (isSpaceOrTab(s.charCodeAt(j))) j++;
    const group = markerGroup(s, j);
    if (!group) break;
    for (const n of group.numbers) numbers.push(n);
    end = group.end;
  }
  return { end, numbers };
}

/** One complete group `[ n (, n)* ]` at `at`, or null. Reads only digits, commas, spaces, tabs and brackets. */
function markerGroup(s: string, at: number): MarkerRun | null {
  if (s.charCodeAt(at) !== 0x5b /* [ */) return null;
  const numbers: number[] = [];
  let j = at + 1;
  for (;;) {
    while (isSpaceOrTab(s.charCodeAt(j))) j++;
    const start = j;
    while (isDigit(s.charCodeAt(j))) j++;
    const digits = j - start;
    if (digits === 0 || digits > MAX_DIGITS) return null;
    numbers.push(Number(s.slice(start, j)));
    while (isSpaceOrTab(s.charCodeAt(j))) j++;
    const c = s.charCodeAt(j);
    if (c === 0x5d /* ] */) return { end: j + 1, numbers };
    if (c !== 0x2c /* , */) return null;
    j++;
  }
}

/**
 * Length of the longest suffix, within the last `TAIL_WINDOW` units, that the next delta could still turn into
 * (part of) a marker: a sequence of whitespace characters and bracket pieces `[` + digits, commas, spaces and
 * tabs + an optional `]`. Computed right to left in one pass: `ok[j]` says whether `tail[j..]` is such a sequence.
 */
function unsettledTailLength(s: string): number {
  const start = Math.max(0, s.length - TAIL_WINDOW);
  const n = s.length - start;
  const ok = new Array<boolean>(n + 1);
  // bodyEnd: index of the first character at or after j that cannot be inside a bracket piece.
  const bodyEnd = new Array<number>(n + 1);
  ok[n] = true;
  bodyEnd[n] = n;
  let longest = 0;
  for (let j = n - 1; j >= 0; j--) {
    const c = s.charCodeAt(start + j);
    bodyEnd[j] = isPieceBody(c) ? (bodyEnd[j + 1] as number) : j;
    if (isWhitespace(c)) {
      ok[j] = ok[j + 1] as boolean;
    } else if (c === 0x5b /* [ */) {
      // A piece may end anywhere inside its body; cutting inside it leaves digits or commas (never a valid
      // start) unless only whitespace remains to the body's end, so checking the body's end suffices.
      const e = bodyEnd[j + 1] as number;
      ok[j] = (ok[e] as boolean) || (e < n && s.charCodeAt(start + e) === 0x5d /* ] */ && (ok[e + 1] as boolean));
    } else {
      ok[j] = false;
    }
    if (ok[j]) longest = n - j;
  }
  return longest;
}

/** Start positions of backtick runs by length, consumed in order, so finding closing runs is linear overall. */
class BacktickRuns {
  private readonly byLength = new Map<number, { starts: number[]; next: number }>();

  constructor(s: string) {
    let j = s.indexOf('`');
    while (j >= 0) {
      const run = backtickRun(s, j);
      let list = this.byLength.get(run);
      if (!list) this.byLength.set(run, (list = { starts: [], next: 0 }));
      list.starts.push(j);
      j = s.indexOf('`', j + run);
    }
  }

  /**
   * Start of the next run of exactly `len` backticks at or after `from`, or -1 (CommonMark code spans).
   * Callers ask with non-decreasing `from`, so each list is walked once.
   */
  closing(from: number, len: number): number {
    const list = this.byLength.get(len);
    if (!list) return -1;
    while (list.next < list.starts.length && (list.starts[list.next] as number) < from) list.next++;
    return list.next < list.starts.length ? (list.starts[list.next] as number) : -1;
  }
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
  while (s.charCodeAt(at + n) === 0x60) n++;
  return n;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isSpaceOrTab(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Inside a bracket piece of an unsettled tail: digits, commas, spaces, tabs. */
function isPieceBody(c: number): boolean {
  return isDigit(c) || c === 0x2c || isSpaceOrTab(c);
}

/** Exactly the characters JavaScript's `\s` matches (all in the BMP). */
function isWhitespace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}
