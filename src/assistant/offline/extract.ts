/**
 * Extractive answering: from the passages retrieval found, pick the sentences (or list items) that share the most
 * informative words with the question, and keep them verbatim so nothing is invented.
 */
import { splitSentences } from '../../knowledge/sentences.ts';
import { parseBlocks } from '../../knowledge/chunk.ts';
import { stem } from './stem.ts';

// PostgreSQL's english stop words plus question filler; never informative when scoring sentences.
const STOP = new Set(
  `i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself it its
  itself they them their theirs themselves what which who whom this that these those am is are was were be been being have
  has had having do does did doing a an the and but if or because as until while of at by for with about against between
  into through during before after above below to from up down in out on off over under again further then once here there
  when where why how all any both each few more most other some such no nor not only own same so than too very s t can
  will just don should now d ll m o re ve y get got getting need want like please tell know would could may might must
  let also much many way thing things use using acme company our us one ever able possible something anything someone`.split(/\s+/),
);

/** Stemmed content words of a text (no stop words). */
export function contentStems(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/['’](s|t|re|ve|ll|d|m)\b/g, '')
    .split(/[^\p{L}\p{N}$£€¥%]+/u)
    .filter((w) => w && !STOP.has(w))
    .map((w) => stem(w));
}

export interface Unit {
  /** The sentence or list item, verbatim (CommonMark). */
  text: string;
  /** Index of the block it came from, and position inside the passage. */
  block: number;
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
  parseBlocks(passage).forEach((b, block) => {
    if (b.kind === 'heading') return;
    const pieces = b.kind === 'list' || b.kind === 'table' || b.kind === 'code' ? [b.text] : splitSentences(b.text).map((s) => s.text);
    for (const text of pieces) {
      units.push({
        text,
        block,
        order: units.length,
        list: b.kind === 'list',
        intro: /:\s*$/.test(text),
        stems: new Set(contentStems(text)),
        score: 0,
      });
    }
  });
  return units;
}

/** Scores units against the question's stems, weighting each stem by how rare it is among these units. */
export function scoreUnits(units: Unit[], question: string, headingStems: Set<string> = new Set()): string[] {
  const q = [...new Set(contentStems(question))];
  const n = units.length || 1;
  const weight = new Map<string, number>();
  for (const s of q) {
    const df = units.filter((u) => u.stems.has(s)).length;
    weight.set(s, Math.log(1 + n / (1 + df)));
  }
  for (const u of units) {
    let score = 0;
    for (const s of q) if (u.stems.has(s)) score += weight.get(s)!;
    // Numbers and amounts answer "how many / how much / when" questions.
    if (/^(how (many|much|long|often|far|late|fast|quickly|soon)|when|what time|by when)\b/i.test(question.trim()) && /\d/.test(u.text)) score += 0.5;
    u.score = score;
  }
  return q.filter((s) => headingStems.has(s));
}

const PROCEDURAL = /^(how (do|can|should|would) (i|we|you)|how to|what('s| is| are) the (steps|process)|steps (to|for)|what (do|should) i do|i (lost|forgot|found|need)|can i|where do i)\b/i;

export function isProcedural(question: string): boolean {
  return PROCEDURAL.test(question.trim()) || /\b(steps|process|procedure|instructions)\b/i.test(question);
}

/**
 * Picks what to quote from one passage: the best sentences (at most `max`), plus — for "how do I" questions — the
 * list they introduce. Returned in passage order.
 */
export function selectUnits(units: Unit[], question: string, max = 3): Unit[] {
  const ranked = [...units].filter((u) => u.score > 0).sort((a, b) => b.score - a.score || a.order - b.order);
  if (!ranked.length) return [];
  const top = ranked[0]!.score;
  const chosen = new Set<Unit>();
  for (const u of ranked) {
    if (chosen.size >= max) break;
    if (u.score < top * 0.5) break;
    chosen.add(u);
  }
  const procedural = isProcedural(question);
  // An introduction ("Follow these steps:") brings its list; a chosen list item in a how-to brings its siblings.
  for (const u of [...chosen]) {
    if (u.intro || (procedural && u.list)) {
      const listBlockStart = u.intro ? u.order + 1 : u.order;
      let i = listBlockStart;
      // Walk back to the list start when a middle item was chosen.
      if (!u.intro) while (i > 0 && units[i - 1]!.list) i--;
      for (; i < units.length && units[i]!.list; i++) chosen.add(units[i]!);
    }
  }
  if (procedural) {
    // The list right after a chosen sentence is usually the steps.
    for (const u of [...chosen]) {
      if (u.list) continue;
      const next = units[u.order + 1];
      if (next?.list && u.intro) for (let i = u.order + 1; i < units.length && units[i]!.list; i++) chosen.add(units[i]!);
    }
  }
  return [...chosen].sort((a, b) => a.order - b.order);
}
