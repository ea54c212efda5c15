/**
 * Times of day in questions and in passages. "My shift ends at 3am, is the canteen still serving?" is answered by
 * the timetable row whose hours hold 03:00 ("22:00 to 06:00: vending machines only"), not by the row that shares most
 * words; "is the library open in the evening?" by the row for evenings, not the one for 08:00 to 12:00. Everything
 * here is in minutes after midnight; a span may run past midnight (end < start).
 */

/** A stretch of the day: [start, end) in minutes, wrapping past midnight when end <= start. */
export interface Span {
  start: number;
  end: number;
}

const DAY = 24 * 60;

// "1am", "1 am", "1:30 p.m.", "13:00", "noon", "midnight". Hours above 23 or minutes above 59 are not times.
const CLOCK = String.raw`(?:(?:[01]?\d|2[0-3]):[0-5]\d(?:\s?(?:a\.?m\.?|p\.?m\.?)(?![\p{L}]))?|(?:1[0-2]|0?[1-9])\s?(?:a\.?m\.?|p\.?m\.?)(?![\p{L}])|noon|midday|midnight)`;
const CLOCK_RE = new RegExp(String.raw`(?<![\p{L}\p{N}:.])${CLOCK}`, 'giu');
const RANGE_RE = new RegExp(String.raw`(?<![\p{L}\p{N}:.])(${CLOCK})\s*(?:to|until|till|through|-|–|—)\s*(${CLOCK})|\bbetween\s+(${CLOCK})\s+and\s+(${CLOCK})`, 'giu');

/** Parts of the day a word names (rough, as people use them: "nights" are the hours most people sleep). */
const PARTS: [RegExp, Span][] = [
  [/\b(overnight|nights?|night[- ]?shifts?|nightly|graveyard)\b/i, { start: 23 * 60, end: 6 * 60 }],
  [/\b(evenings?)\b/i, { start: 17 * 60, end: 22 * 60 }],
  [/\b(mornings?)\b/i, { start: 6 * 60, end: 11 * 60 }],
  [/\b(afternoons?)\b/i, { start: 12 * 60, end: 17 * 60 }],
];

/**
 * "3 nights in a row", "two mornings a week": a part of the day with a number before it counts days, it is not a
 * time of day ("3 night shifts" still names the night). Such phrases are blanked before the parts of the day are read.
 */
const COUNTED_PARTS = /\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a few|several|consecutive)\s+(?:nights?|evenings?|mornings?|afternoons?)\b(?![- ]?shifts?\b)/giu;

/** The text with its counted parts of the day blanked (see COUNTED_PARTS). */
function uncounted(text: string): string {
  return text.replace(COUNTED_PARTS, ' ');
}

/** Minutes after midnight of one clock reading; null when it is not one. */
export function minutesOf(text: string): number | null {
  const t = text.toLowerCase().replace(/\s+/g, '');
  if (t === 'noon' || t === 'midday') return 12 * 60;
  if (t === 'midnight') return 0;
  const m = /^(\d{1,2})(?::(\d\d))?(a\.?m\.?|p\.?m\.?)?$/.exec(t);
  if (!m) return null;
  let h = Number(m[1]);
  const min = m[2] ? Number(m[2]) : 0;
  if (h > 23 || min > 59) return null;
  if (m[3]) {
    if (h < 1 || h > 12) return null;
    if (m[3].startsWith('a')) h = h === 12 ? 0 : h;
    else h = h === 12 ? 12 : h + 12;
  }
  return h * 60 + min;
}

/** The times of day a question asks about: clock readings as points, else the parts of the day it names. */
export function questionTimes(question: string): Span[] {
  const q = question.slice(0, 2000);
  const out: Span[] = [];
  for (const m of q.matchAll(CLOCK_RE)) {
    const at = minutesOf(m[0]);
    // A bare "13:00" or "1am" is a point in time; "9:00" without am/pm is read as written (24-hour clock).
    if (at !== null) out.push({ start: at, end: (at + 1) % DAY });
    if (out.length >= 4) break;
  }
  if (out.length) return out;
  const parts = uncounted(q);
  for (const [re, span] of PARTS) if (re.test(parts)) out.push(span);
  return out;
}

/**
 * Spans of the day a passage's sentence or table row states: "07:00 to 16:30", "8am-5pm", "nights". Hours stated on
 * the clock say more than a word for a part of the day in the same sentence ("between 18:00 and 23:30 … a Night
 * Parking tag"): the word is read only where no hours are given.
 */
export function statedSpans(text: string): Span[] {
  const clock = clockSpans(text);
  if (clock.length) return clock;
  const parts = uncounted(text.slice(0, 2000));
  return PARTS.filter(([re]) => re.test(parts)).map(([, span]) => span);
}

/** The hours a sentence states on the clock ("07:00 to 16:30", "between 8am and 5pm"); no parts of the day. */
function clockSpans(text: string): Span[] {
  const t = text.slice(0, 2000);
  const out: Span[] = [];
  for (const m of t.matchAll(RANGE_RE)) {
    const from = m[1] ?? m[3]!;
    const to = m[2] ?? m[4]!;
    const a = minutesOf(from);
    let b = minutesOf(to);
    if (a === null || b === null) continue;
    // "8 to 5pm" style ranges are not parsed (no am/pm on the first); "9am to 5" reads 5 as 17:00.
    if (b < a && !/[ap]\.?m/i.test(to) && b + 12 * 60 > a && b < 12 * 60) b += 12 * 60;
    out.push({ start: a, end: b });
    if (out.length >= 6) break;
  }
  return out;
}

/** Length of a span in minutes (a wrapping span runs past midnight). */
function length(s: Span): number {
  const d = (s.end - s.start + DAY) % DAY;
  return d === 0 ? DAY : d;
}

/** Minutes of `a` that `b` also covers. */
export function overlap(a: Span, b: Span): number {
  let n = 0;
  // Walk `a` in 15-minute steps: at most 96 steps a span, exact enough for timetables.
  const la = length(a);
  const step = la <= 15 ? 1 : 15;
  for (let m = 0; m < la; m += step) if (inside(b, (a.start + m) % DAY)) n += Math.min(step, la - m);
  return n;
}

function inside(s: Span, minute: number): boolean {
  return s.start < s.end ? minute >= s.start && minute < s.end : minute >= s.start || minute < s.end;
}

/** True when hours the text states on the clock (not a part of the day) hold the asked-for time. */
export function clockFit(asked: readonly Span[], text: string): boolean {
  return asked.length > 0 && clockSpans(text).some((s) => asked.some((q) => overlap(q, s) >= 0.5 * length(q)));
}

/**
 * How a sentence's stated hours fit the times a question asks about: 1 when a span of it holds most of one of the
 * question's times, -1 when it states hours and none of them does, 0 when it states no hours.
 */
export function timeFit(asked: readonly Span[], text: string): -1 | 0 | 1 {
  if (!asked.length) return 0;
  const stated = statedSpans(text);
  if (!stated.length) return 0;
  for (const q of asked) for (const s of stated) if (overlap(q, s) >= 0.5 * length(q)) return 1;
  return -1;
}
