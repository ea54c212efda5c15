/**
 * Extractive answering: from the passages retrieval found, pick the sentences (or list items) that share the most
 * informative words with the question, and keep them verbatim so nothing is invented.
 */
import { splitSentences } from '../../knowledge/sentences.ts';
import { parseBlocks } from '../../knowledge/chunk.ts';
import { stem } from './stem.ts';

// PostgreSQL's english stop words plus question filler; never informative when scoring sentences. "not" is kept:
// "software that isn't in the App Store" is answered by the sentence that says "not in the App Store".
const STOP = new Set(
  `i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself it its
  itself they them their theirs themselves what which who whom this that these those am is are was were be been being have
  has had having do does did doing a an the and but if or because as until while of at by for with about against between
  into through during before after above below to from up down in out on off over under again further then once here there
  when where why how all any both each few more most other some such nor only own same so than too very s t can
  will just don should now d ll m o re ve y get got getting need want like please tell know would could may might must
  let also much many way thing things use using acme company our us one ever able possible something anything someone`.split(/\s+/),
);

// Word forms the stemmer keeps apart but a question and its answer often mix.
const SAME: Record<string, string> = { fly: 'flight', flew: 'flight', flown: 'flight', vacat: 'pto', payslip: 'payslip', wi: 'wifi' };

/** Stemmed content words of a text (no stop words). */
export function contentStems(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/n['’]t\b/g, ' not')
    .replace(/['’](s|re|ve|ll|d|m)\b/g, '')
    .split(/[^\p{L}\p{N}$£€¥%]+/u)
    .filter((w) => w && !STOP.has(w))
    .map((w) => {
      const s = stem(w);
      return SAME[s] ?? s;
    });
}

export interface Unit {
  /** The sentence or list item, verbatim (CommonMark). */
  text: string;
  /** Position inside the passage. */
  order: number;
  list: boolean;
  /** Ends with ':' — introduces what follows. */
  intro: boolean;
  stems: Set<string>;
  score: number;
}

/** Sentences and list items of a passage, in order. */
export function unitsOf(passage: string): Unit[] {
  const units: Unit[] = [];
  for (const b of parseBlocks(passage)) {
    if (b.kind === 'heading') continue;
    const pieces = b.kind === 'list' || b.kind === 'table' || b.kind === 'code' ? [b.text] : splitSentences(b.text).map((s) => s.text);
    for (const text of pieces) {
      units.push({ text, order: units.length, list: b.kind === 'list', intro: /:\s*$/.test(text), stems: new Set(contentStems(text)), score: 0 });
    }
  }
  return units;
}

/**
 * Stems of capitalised words after the first ("Tokyo", "TripDesk"): they name what the answer must be about.
 * Acronyms ("VPN", "AI") are topics rather than names and are left out.
 */
export function properStems(question: string): Set<string> {
  return new Set(
    question
      .split(/\s+/)
      .slice(1)
      .filter((w) => /^\p{Lu}\p{Ll}/u.test(w))
      .flatMap((w) => contentStems(w)),
  );
}

/** Weights of the question's stems: rarer among the candidate sentences = more telling; names count double. */
export function stemWeights(question: string, units: readonly Unit[]): Map<string, number> {
  const q = [...new Set(contentStems(question))];
  const proper = properStems(question);
  const n = units.length || 1;
  const weight = new Map<string, number>();
  for (const s of q) {
    const df = units.filter((u) => u.stems.has(s)).length;
    weight.set(s, Math.log(1 + n / (1 + df)) * (proper.has(s) ? 2 : 1));
  }
  return weight;
}

const NUMBER = /\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|once|twice|annual(ly)?|monthly|weekly|daily|yearly|quarterly|immediately)\b/i;

// What kind of answer the question wants, and what a sentence giving it looks like.
const WANTS: [RegExp, RegExp][] = [
  [/^how often\b|\bhow frequently\b/i, /\b(every|each|per|cycle|once|twice|times|annual(ly)?|monthly|weekly|daily|yearly|quarterly)\b|\w-(year|month|week|day)\b/i],
  [/^(when|by when|what time|what day|what date)\b|\b(deadline|due|schedule)\b/i, /\b(\d{1,2}(:\d\d)?\s?(a\.m\.|p\.m\.|am|pm)|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december|\d{1,2}(st|nd|rd|th)|every|each|within|days?|weeks?|months?|years?|immediately)\b/i],
  [/^how (many|much|long|often|far|late|fast|quickly|soon|early|big)\b|\b(percentage|percent|limit|rate|cost|fee|price|number|amount|cap|budget|minimum|maximum|length|version|size|allowance|salary|bonus|per diem)\b/i, NUMBER],
  [/^where\b/i, /\b(floor|room|building|desk|reception|office|located|lobby|portal|site|level|garage|https?:\/\/)\b|\S+@\S+/i],
  [/^who\b/i, /\b(team|manager|officer|head|director|desk|department|approv\w*)\b|@/i],
];

/** "This article explains …": says what the page is about, answers nothing. */
const META = /^(this|the following) (article|page|guide|document|section|policy) (explains|describes|covers|lists|tells|sets out|summari[sz]es)\b/i;

/** Scores units against the question: weighted shared stems, plus a bonus when a unit has the kind of answer asked for. */
export function scoreUnits(units: Unit[], question: string, weight: Map<string, number> = stemWeights(question, units), opts: { heading?: number; proper?: Set<string> } = {}): void {
  const avg = weight.size ? [...weight.values()].reduce((a, b) => a + b, 0) / weight.size : 1;
  const wants = WANTS.filter(([q]) => q.test(question.trim())).map(([, a]) => a);
  const subject = definitionSubject(question);
  const proper = opts.proper && opts.proper.size ? opts.proper : null;
  for (const u of units) {
    let score = 0;
    for (const [s, w] of weight) if (u.stems.has(s)) score += w;
    if (score > 0) {
      // Sentences under a heading that repeats the question share a little of its relevance.
      score += 0.3 * (opts.heading ?? 0);
      // A sentence that names none of the names the question names ("Tokyo") answers another question.
      if (proper && ![...proper].some((p) => u.stems.has(p))) score *= 0.5;
      for (const a of wants) if (a.test(u.text)) score += 0.5 * avg;
      if (subject && new RegExp(`\\b${escapeRe(subject)}\\b,? (is|are|was|will)\\b`, 'i').test(u.text)) score += avg;
      if (META.test(u.text)) score *= 0.3;
    }
    u.score = score;
  }
}

/** "What is Project Northstar?" → "Project Northstar". */
function definitionSubject(question: string): string | null {
  const m = /^what (is|are|was) (the |an? )?(.+?)[?.!]*$/i.exec(question.trim());
  return m && m[3]!.split(' ').length <= 4 ? m[3]! : null;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const HOW_TO = /^(how (do|can|should|would) (i|we|you)|how to|what('s| is| are) the (steps|process)|steps (to|for))\b/i;

/** "How do I …", "what are the steps …": the answer is usually a list of steps. */
export function isProcedural(question: string): boolean {
  return HOW_TO.test(question.trim()) || /\b(steps|procedure|instructions)\b/i.test(question);
}

/**
 * Picks what to quote from one passage: the best sentences (at most `max`), plus — for "how do I" questions — the
 * list they introduce. With `leading`, the passage's heading already matches the question, so its opening
 * sentences are the answer. Returned in passage order.
 */
export function selectUnits(units: Unit[], question: string, max = 3, leading = false): Unit[] {
  const chosen = new Set<Unit>();
  const procedural = isProcedural(question);
  if (leading) {
    for (const u of units) {
      if (chosen.size >= max && !u.list) break;
      if (u.list && !procedural && chosen.size >= max) break;
      chosen.add(u);
      if (chosen.size >= max + 8) break;
    }
  } else {
    const ranked = [...units].filter((u) => u.score > 0).sort((a, b) => b.score - a.score || a.order - b.order);
    if (!ranked.length) return [];
    const top = ranked[0]!.score;
    for (const u of ranked) {
      if (chosen.size >= max) break;
      if (u.score < top * 0.5) break;
      chosen.add(u);
    }
  }
  // An introduction ("Follow these steps:") brings its list; a chosen list item in a how-to brings its siblings.
  for (const u of [...chosen]) {
    if (u.intro || (procedural && u.list)) {
      let i = u.intro ? u.order + 1 : u.order;
      if (!u.intro) while (i > 0 && units[i - 1]!.list) i--;
      for (; i < units.length && units[i]!.list; i++) chosen.add(units[i]!);
    }
  }
  return [...chosen].sort((a, b) => a.order - b.order);
}
