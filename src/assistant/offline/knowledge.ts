/** Knowledge questions: retrieve visible passages, keep only relevant ones, quote their best sentences with citations. */
import type { EngineCitation } from '../engine.ts';
import type { KnowledgeHit } from '../../knowledge/types.ts';
import { isLightWord, isSituationWord, queryWords } from '../../knowledge/query.ts';
import { AnswerBuilder } from './compose.ts';
import type { OfflineKnowledge } from './directory-cite.ts';
import { clockFit, questionTimes, timeFit } from './clock.ts';
import { answerType, bridgeUnits, contentStems, isProcedural, properStems, scoreUnits, selectUnits, stemWeights, unitsOf, type Unit } from './extract.ts';

export interface KnowledgeOutcome {
  reasoning: string[];
  answer: AnswerBuilder;
  found: boolean;
  /** How convincing the best passage was (absent when nothing was retrieved); see `confidence`. */
  signals?: Signals;
  /** Question words no visible passage uses (diagnostics). */
  unseenWords?: string[] | undefined;
}

/** What the decision to answer rests on (several signals: coverage alone cannot tell chatty from unanswerable). */
export interface Signals {
  /** Rarity-weighted share of the question's known terms in the lead passage. */
  coverage: number;
  /** Share of the question's words that no visible passage uses. */
  unseen: number;
  /** Coverage counting unknown topic words too (see KnowledgeHit.support). */
  support: number;
  /** See KnowledgeHit.specificity. */
  specificity: number;
  /** Share of the question's (sentence-level) weight held by the best sentence. */
  sentence: number;
  /** The question asks for a kind of fact (duration, amount, time, place, person…). */
  wantsType: boolean;
  /** The best sentence holds that kind of fact. */
  typed: boolean;
  /** Share of the question's weight in the lead passage's title and heading. */
  heading: number;
  confidence: number;
  /** URL of the lead passage's document. */
  url: string;
  /** Share of the top five hits that come from the lead passage's document. */
  focus: number;
  /** Unknown topic words in the question's asking sentence (see `askClause`). */
  askUnknown: number;
  /** Known, not light, content words of the asking sentence. */
  askKnown: number;
  /** What the rules for off-topic questions took off the confidence (0 or negative). */
  penalty: number;
  /** Share of the asking sentence's content words (light words aside) that the lead passage lacks in every form. */
  askMiss: number;
  /** The same for the best sentence with the passage's title and heading. */
  askMissBest: number;
  /** See KnowledgeHit.docCoverage. */
  docCoverage: number;
  /** Unknown topic words of the asking sentence used as nouns ("my ferret", "the chess club"). */
  askUnknownNoun: number;
  /** Backed-off words of the asking sentence (lexicon.ts) that the best sentence does not say in any form. */
  backoffMissing: number;
}

/** Passages below this coverage are not considered at all (they share only a common word or two). */
export const MIN_COVERAGE = 0.25;
/** Cosine similarity that makes a dense-only match relevant. */
export const MIN_SIMILARITY = 0.8;

export interface KnowledgeAsk {
  k: OfflineKnowledge;
  assistant: string;
  principals: string[];
  question: string;
  /** Also searched (e.g. a name the directory did not know), to say honestly what was looked for. */
  alsoSearched?: string | undefined;
  /** Confidence needed to quote an answer (default CONFIDENT); evaluation tools lower it to see what is gated. */
  gate?: number;
}

/** Reasoning text for the search: only the user's own words, never anything found. */
export function searchTerms(question: string): string {
  const words = queryWords(question).filter((w) => !/^(what|how|who|where|when|why|which|is|are|do|does|did|can|i|my|the|a|an|to|of|for|in|on|at|and|or|it|be|me|you|your|we|our)$/.test(w));
  return words.join(' ') || question.trim().slice(0, 80);
}

export async function answerKnowledge(ask: KnowledgeAsk): Promise<KnowledgeOutcome> {
  const terms = searchTerms(ask.question);
  const reasoning = [`Searching the knowledge base for ${terms}`];
  const hits = await ask.k.search(ask.assistant, ask.principals, ask.question, { limit: 8 });
  // Graded relevance: passages far below the best one only share common words with the question.
  const top = hits.reduce((m, h) => Math.max(m, h.coverage ?? 0), 0);
  const relevant = hits.filter((h) => isRelevant(h) && ((h.coverage ?? 0) >= 0.5 * top || (h.similarity ?? 0) >= MIN_SIMILARITY));
  if (!relevant.length) return { reasoning, answer: nothingFound(terms, ask.alsoSearched), found: false };

  // Every sentence of every relevant passage competes; the passage holding the best one leads.
  const candidates = relevant.slice(0, 8).map((hit, rank) => ({ hit, rank, units: unitsOf(hit.text) }));
  bridgeUnits(ask.question, candidates.flatMap((c) => c.units));
  const weight = stemWeights(ask.question, candidates.flatMap((c) => c.units));
  const procedural = isProcedural(ask.question);
  const totalWeight = [...weight.values()].reduce((x, y) => x + y, 0) || 1;
  // Names in the question constrain sentences only when some candidate sentence has them at all.
  const proper = new Set([...properStems(ask.question)].filter((s) => candidates.some((c) => c.units.some((u) => u.stems.has(s)))));
  const scored = candidates.map((c) => {
    const heading = new Set(contentStems(`${c.hit.title} ${c.hit.heading}`));
    let headingScore = 0;
    for (const [s, w] of weight) if (heading.has(s)) headingScore += w;
    const sectionHeading = new Set(contentStems(c.hit.heading));
    let sectionScore = 0;
    for (const [s, w] of weight) if (sectionHeading.has(s)) sectionScore += w;
    scoreUnits(c.units, ask.question, weight, { heading: sectionScore, proper });
    const bestUnit = c.units.reduce<Unit | null>((m, u) => (u.score > (m?.score ?? 0) ? u : m), null);
    const best = bestUnit?.score ?? 0;
    const hasList = c.units.some((u) => u.list);
    // Retrieval order still counts (it saw title and heading weights and rarity over the whole corpus).
    const score = best + 0.35 * headingScore + (procedural && hasList ? 0.5 : 0) - 0.15 * c.rank + 2 * (c.hit.coverage ?? 0) + DOC_WEIGHT * (c.hit.docCoverage ?? 0);
    return { ...c, score, best, bestUnit, headingCover: headingScore / totalWeight, sectionCover: sectionScore / totalWeight };
  });
  // Document evidence: an article that answers usually has more than one sentence about the question; a word
  // shared by chance (a homonym, a word of the asker's story) lifts one sentence only. The article's next best
  // sentence among the candidate passages adds a share of its score.
  const byDoc = new Map<string, number[]>();
  for (const c of scored) {
    const list = byDoc.get(c.hit.documentId) ?? [];
    for (const u of c.units) if (u.score > 0 && u.holds) list.push(u.score);
    byDoc.set(c.hit.documentId, list);
  }
  for (const c of scored) c.score += DOC_SECOND * secondBest(byDoc.get(c.hit.documentId)!, c.best);
  scored.sort((a, b) => b.score - a.score || a.rank - b.rank);
  const lead = scored[0]!;
  // A word no passage uses as written that a candidate sentence says another way ("meds" for "medicine", an
  // acronym spelled out) is not unknown: the question is not about something the corpus lacks.
  const said = new Set<string>();
  for (const c of candidates) for (const u of c.units) for (const st of u.bridged ?? []) said.add(st);
  const unseenWords = (lead.hit.unseenWords ?? []).filter((w) => !contentStems(w).every((st) => said.has(st)));
  // Support counted the unknown topic words against the passage; those a sentence says another way are known after
  // all, so their share of that discount is given back.
  const unknownTopic = (ws: readonly string[]) => ws.filter((w) => !isSituationWord(w)).length;
  const before = unknownTopic(lead.hit.unseenWords ?? []);
  let support = lead.hit.support;
  if (before > 0 && support !== undefined && lead.hit.coverage !== undefined) support = lead.hit.coverage - (lead.hit.coverage - support) * (unknownTopic(unseenWords) / before);
  const signals = signalsOf(ask.question, { ...lead, hit: { ...lead.hit, unseenWords, ...(support !== undefined ? { support } : {}) } }, weight, totalWeight, hits);
  if (signals.confidence < (ask.gate ?? CONFIDENT)) {
    const answer = signals.confidence >= SUGGEST ? mayHelp(terms, scored.map((c) => c.hit)) : nothingFound(terms, ask.alsoSearched);
    return { reasoning, answer, found: false, signals, unseenWords: lead.hit.unseenWords };
  }
  const picks: { hit: KnowledgeHit; units: Unit[] }[] = [];
  // "How do I report an incident?" under the heading "How to report an incident": the section is the answer.
  const leading = procedural && lead.sectionCover >= 0.5;
  const leadUnits = selectUnits(lead.units, ask.question, 4, leading);
  if (leadUnits.length) picks.push({ hit: lead.hit, units: leadUnits });
  // Another passage joins only when its best sentence is as good as the lead's.
  const runnerUp = scored.slice(1).find((c) => c.best > 0 && c.best >= lead.best * 0.95);
  if (runnerUp && picks.length) {
    const units = selectUnits(runnerUp.units, ask.question, 1).filter((u) => !picks[0]!.units.some((p) => p.text === u.text));
    if (units.length) picks.push({ hit: runnerUp.hit, units });
  }

  // A message that asks two things ("is there an allowance? when is it paid?") gets the best sentence of the lead's
  // article for each of the other asks too, when one holds what that ask wants.
  if (picks.length) {
    const pool = scored.filter((c) => c.hit.documentId === lead.hit.documentId);
    for (const part of askingParts(ask.question).slice(1, 3)) {
      const wanted = answerType(part);
      const copies = pool.map((c) => ({ c, units: c.units.map((u) => ({ ...u })) }));
      const all = copies.flatMap((x) => x.units);
      const w = stemWeights(part, all);
      let best: { hit: KnowledgeHit; unit: Unit } | null = null;
      for (const x of copies) {
        scoreUnits(x.units, part, w, { proper });
        for (const u of x.units) if (u.score > 0 && (!wanted || u.typed) && u.score > (best?.unit.score ?? 0)) best = { hit: x.c.hit, unit: u };
      }
      if (!best || picks.some((p) => p.units.some((u) => u.text === best.unit.text))) continue;
      quoteToo(picks, best.hit, best.unit);
    }
  }

  // "Does the bus still run at 1am?": when no quoted sentence states hours that hold the asked-for time, the best
  // sentence or row of the lead's article that does (another passage's timetable) is quoted too, when it is close
  // enough to the best to be about the question.
  const times = questionTimes(ask.question);
  const byClock = (u: Unit) => clockFit(times, u.row ?? u.text);
  if (picks.length && times.length && !picks.some((p) => p.units.some(byClock))) {
    // A quoted sentence that holds the time only by a part of the day ("overnight") still leaves room for the
    // hours; otherwise hours on the clock ("00:30 to 05:15") come first, then a part of the day ("night shift").
    const clockOnly = picks.some((p) => p.units.some((u) => timeFit(times, u.row ?? u.text) > 0));
    let best: { hit: KnowledgeHit; unit: Unit; clock: boolean } | null = null;
    for (const c of scored) {
      if (c.hit.documentId !== lead.hit.documentId) continue;
      for (const u of c.units) {
        // scoreUnits read each scoring unit's hours against these times already (hours on the clock that hold the
        // time fit too).
        if (u.score < TIME_KEEP * lead.best || u.hours !== 1) continue;
        const clock = byClock(u);
        if (clockOnly && !clock) continue;
        if (!best || (clock && !best.clock) || (clock === best.clock && u.score > best.unit.score)) best = { hit: c.hit, unit: u, clock };
      }
    }
    if (best) quoteToo(picks, best.hit, best.unit);
  }

  // One citation per document; when two passages of it are quoted, its body holds both.
  const citations = new Map<string, EngineCitation>();
  for (const p of picks) {
    const prev = citations.get(p.hit.documentId);
    if (prev) prev.body = `${prev.body}\n\n…\n\n${p.hit.text}`;
    else citations.set(p.hit.documentId, citationOf(p.hit));
  }
  for (const p of picks) p.units = mergeRows(p.units);
  const a = new AnswerBuilder();
  for (const [n, picked] of picks.entries()) {
    const cite = citations.get(picked.hit.documentId)!;
    let prevList = false;
    picked.units.forEach((u, i) => {
      const nextIsListItem = picked.units[i + 1]?.list === true;
      // Prose sentences are cited one by one; a list is cited once, after its last item.
      const cites: EngineCitation[] = u.list && nextIsListItem ? [] : [cite];
      if (n === 0 && i === 0 && !u.list) a.add(u.text, cites);
      else if (u.list) a.item(u.text, cites, !prevList);
      else a.add(u.text, cites, prevList || i === 0 ? '\n\n' : ' ');
      prevList = u.list;
    });
  }
  if (!a.length) return { reasoning, answer: nothingFound(terms, ask.alsoSearched), found: false, signals };
  return { reasoning, answer: a, found: true, signals, unseenWords: lead.hit.unseenWords };
}

/** Quotes a unit too: inside its passage's pick when that passage is quoted already, else as a pick of its own. */
function quoteToo(picks: { hit: KnowledgeHit; units: Unit[] }[], hit: KnowledgeHit, unit: Unit): void {
  const pick = picks.find((p) => p.hit.chunkId === hit.chunkId);
  if (pick) pick.units = [...pick.units, unit].sort((a, b) => a.order - b.order);
  else picks.push({ hit, units: [unit] });
}

const DOC_WEIGHT = 2;
/** Least share of the lead's best sentence score a sentence needs to be quoted for the time it states. */
const TIME_KEEP = 0.35;
/** Share of an article's next best sentence added to each of its passages' scores (see answerKnowledge). */
const DOC_SECOND = 0.3;

/** The highest score of the list once one occurrence of `best` is set aside; 0 when there is none. */
function secondBest(scores: readonly number[], best: number): number {
  let skipped = false;
  let second = 0;
  for (const x of scores) {
    if (!skipped && x === best) skipped = true;
    else if (x > second) second = x;
  }
  return second;
}

/** Confidence at or above which the best sentences are quoted as the answer. */
export const CONFIDENT = 0.75;
/** Below CONFIDENT but at least this: no answer, but the closest articles are offered. */
export const SUGGEST = 0.55;

interface Lead {
  hit: KnowledgeHit;
  units: Unit[];
  bestUnit: Unit | null;
  headingCover: number;
}

/**
 * One number from several signals. Coverage says how much of what the corpus knows of the question the passage
 * holds; the best sentence must hold a fair share of it too (matching words scattered over a long passage are
 * weak evidence); a question asking for a kind of fact is convincing only when that sentence holds such a fact;
 * and words the corpus never uses make a question likelier to be about something else.
 */
function signalsOf(question: string, lead: Lead, weight: Map<string, number>, totalWeight: number, hits: readonly KnowledgeHit[]): Signals {
  const coverage = lead.hit.coverage ?? 0;
  const support = lead.hit.support ?? coverage;
  const unseen = lead.hit.unseen ?? 0;
  let inBest = 0;
  if (lead.bestUnit) for (const [s, w] of weight) if (lead.bestUnit.stems.has(s)) inBest += w;
  const sentence = inBest / totalWeight;
  const wantsType = answerType(question) !== null;
  const typed = Boolean(lead.bestUnit?.typed);
  const heading = lead.headingCover;
  const specificity = lead.hit.specificity ?? 1;
  // Weights fitted on two evaluation sets of different companies (a handful of numbers, not words): support and
  // title/heading agreement say the passage is about the question; specificity says a rare word matched, not
  // only everyday ones; a question asking for a kind of fact loses confidence when the sentence lacks one.
  let confidence = 0.9 * support + 0.15 * Math.min(1, heading * 2) + 0.3 * specificity + 0.2 * sentence;
  if (wantsType && !typed) confidence -= 0.2;
  const before = confidence;
  // More unknown topic words than matched ones: the question is about something else that shares a word or two.
  const unknownTopic = (lead.hit.unseenWords ?? []).filter((w) => !isSituationWord(w)).length;
  // The asking sentence names as many things the corpus never mentions as things it does ("when does the office
  // chess club meet?", where only "office" is known): it asks about the unknown thing. Story sentences before it
  // do not count.
  const { askUnknown, askKnown } = askWords(question, lead.hit.unseenWords ?? []);
  if (askUnknown > 0 && askUnknown >= askKnown) confidence -= 0.3;
  const offTopic = lead.hit.matchedTerms !== undefined && unknownTopic > lead.hit.matchedTerms;
  if (offTopic) confidence -= 0.3;
  // Document-level feedback: when the best hits concentrate in the lead's article, the question is about that
  // article's topic; when they scatter over many articles, it only shares words with each. (Concentration says
  // nothing for a question mostly about something else: every hit then shares the same one or two words.)
  const top = hits.slice(0, 5);
  const focus = top.length ? top.filter((h) => h.documentId === lead.hit.documentId).length / top.length : 0;
  confidence += 0.4 * (offTopic ? Math.min(0, focus - 0.5) : focus - 0.5);
  // In a short question, a name it gives ("What is Project Orion?") that no visible passage mentions is what it
  // asks about; in a long one, a name is usually circumstance ("the hotel in Denver is $300 a night…").
  const names = new Set(question.split(/\s+/).slice(1).filter((w) => /^\p{Lu}\p{Ll}/u.test(w)).map((w) => w.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '')));
  if (contentStems(question).length <= 5 && (lead.hit.unseenWords ?? []).some((w) => names.has(w))) confidence -= 0.3;
  const askMiss = askMissing(question, lead);
  const askMissBest = askMissing(question, lead, true);
  const penalty = round(Math.min(0, confidence - before - 0.4 * (focus - 0.5)));
  // The asking sentence names a thing ("my ferret", "the chess club") that no visible passage mentions: it asks
  // about that thing, whatever else it shares with the passages.
  const askUnknownNoun = unknownNouns(askClause(question), lead.hit.unseenWords ?? []);
  if (askUnknownNoun > 0) confidence -= 0.4;
  // A word of the asking sentence found only through the back-off lexicon (lexicon.ts) that the quoted sentence
  // does not say: reported for diagnosis. (Taking 0.3 off the confidence for it cost three right answers on an
  // independent set for one unanswerable question of the helper's own; see the decision record.)
  const backoffMissing = backoffMissed(question, lead);
  if ((lead.hit.similarity ?? 0) >= MIN_SIMILARITY) confidence = Math.max(confidence, CONFIDENT);
  return { backoffMissing, askUnknownNoun, docCoverage: lead.hit.docCoverage ?? coverage, askMiss, askMissBest, penalty, coverage, unseen, support, specificity, sentence: round(sentence), wantsType, typed, heading: round(heading), confidence: round(confidence), url: lead.hit.url, focus, askUnknown, askKnown };
}

/** Backed-off words or phrases of the asking sentence (see KnowledgeHit.backoffWords) that the best sentence lacks. */
function backoffMissed(question: string, lead: Lead): number {
  const words = lead.hit.backoffWords ?? [];
  if (!words.length) return 0;
  const asked = ` ${queryWords(askClause(question)).join(' ')} `;
  const best = lead.bestUnit?.stems ?? new Set<string>();
  return words.filter((w) => asked.includes(` ${w} `) && !contentStems(w).every((st) => best.has(st))).length;
}

/** Share of the asking sentence's content words that the passage (title, heading, sentences as bridged) lacks. */
function askMissing(question: string, lead: Lead, bestOnly = false): number {
  const words = queryWords(askClause(question)).filter((w) => !QUESTION_WORD.test(w) && !isLightWord(w)).slice(0, 24);
  const stems = [...new Set(words.flatMap((w) => contentStems(w)))];
  if (!stems.length) return 0;
  const have = new Set(contentStems(`${lead.hit.title} ${lead.hit.heading}`));
  for (const u of bestOnly ? (lead.bestUnit ? [lead.bestUnit] : []) : lead.units) for (const st of u.stems) have.add(st);
  return round(stems.filter((st) => !have.has(st)).length / stems.length);
}

/**
 * The separate asks of a message, when it has more than one: its sentences that end in a question mark, or one
 * question joined by "and" to another question word ("who approves it, and how much can we pay?").
 */
export function askingParts(question: string): string[] {
  const text = question.slice(0, 2000);
  const asks = text.split(/(?<=\?)\s+/).filter((p) => p.includes('?'));
  if (asks.length >= 2) return asks;
  const one = asks[0] ?? text;
  const parts = one.split(/,?\s+and\s+(?=(?:what|when|where|who|how|which|is|are|do|does|can|will)\b)/i).filter((p) => /[\p{L}\p{N}]/u.test(p));
  return parts.length >= 2 ? parts : [];
}

/** Unknown (topic) and known content words of the asking sentence, light words left out. */
export function askWords(question: string, unseenWords: readonly string[]): { askUnknown: number; askKnown: number } {
  const unknown = new Set(unseenWords.filter((w) => !isLightWord(w)));
  const words = queryWords(askClause(question)).filter((w) => !QUESTION_WORD.test(w) && !isLightWord(w));
  const askUnknown = words.filter((w) => unknown.has(w)).length;
  return { askUnknown, askKnown: words.length - askUnknown };
}

const DETERMINER = /^(a|an|the|my|your|our|their|his|her|its|this|these|those|any|some|no)$/;

/**
 * How many of the unknown topic words of a sentence it uses as nouns: right after a determiner or possessive, or
 * one word after it ("my ferret", "a canoe", "the office chess club"). A question naming a thing the corpus never
 * mentions asks about that thing; an unknown verb ("can I fix it", "help him settle in") is how it is asked.
 */
export function unknownNouns(sentence: string, unseenWords: readonly string[]): number {
  const unknown = new Set(unseenWords.filter((w) => !isLightWord(w) && !isSituationWord(w)));
  if (!unknown.size) return 0;
  const words = sentence.slice(0, 2000).toLowerCase().replace(/['’]s\b/g, '').split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  // A word written in capitals ("the QMS audit") is a short form, usually of something the passages write out or
  // abbreviate another way: not, like an unknown ordinary noun ("my ferret"), a sign of another topic.
  const acronyms = new Set([...sentence.slice(0, 2000).matchAll(/\b(\p{Lu}{2,6})s?\b/gu)].map((m) => m[1]!.toLowerCase()));
  let n = 0;
  for (let i = 0; i < words.length; i++) {
    if (!unknown.has(words[i]!) || acronyms.has(words[i]!)) continue;
    if ((i >= 1 && DETERMINER.test(words[i - 1]!)) || (i >= 2 && DETERMINER.test(words[i - 2]!))) n++;
  }
  return n;
}

const QUESTION_WORD = /^(what|how|who|where|when|why|which|is|are|was|were|do|does|did|can|i|my|the|a|an|to|of|for|in|on|at|and|or|it|be|me|you|your|we|our|there|any|if|that|this|will|am|have|has|had|not|with|from|about|they|them|their|he|she|his|her)$/;

/**
 * The sentence that asks (the last one with a question mark, else the last sentence): chatty questions tell their
 * circumstances first and ask last, so a word the corpus never uses is far likelier to be the topic when it sits
 * in the asking sentence than in the story before it.
 */
export function askClause(question: string): string {
  const parts = question.slice(0, 2000).split(/(?<=[?.!])\s+/).filter((p) => /[\p{L}\p{N}]/u.test(p));
  if (parts.length <= 1) return question.slice(0, 2000);
  const asking = [...parts].reverse().find((p) => p.includes('?'));
  return asking ?? parts[parts.length - 1]!;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function isRelevant(h: KnowledgeHit): boolean {
  return (h.coverage ?? 0) >= MIN_COVERAGE || (h.similarity ?? 0) >= MIN_SIMILARITY;
}

function citationOf(hit: KnowledgeHit): EngineCitation {
  const attributes = [{ key: 'SOURCE', value: 'Knowledge base' }];
  if (hit.updatedAt) attributes.unshift({ key: 'UPDATE_DATETIME', value: hit.updatedAt });
  if (hit.heading) attributes.push({ key: 'SECTION', value: hit.heading });
  return { key: `doc:${hit.documentId}`, url: hit.url, title: hit.title, body: hit.text, attributes };
}

/** Rows of one table chosen together are quoted as one table: its header once, then the rows in order. */
function mergeRows(units: Unit[]): Unit[] {
  const out: Unit[] = [];
  for (const u of units) {
    const prev = out[out.length - 1];
    const head = u.row !== undefined ? u.text.slice(0, u.text.length - u.row.length) : null;
    if (prev?.row !== undefined && head && prev.text.startsWith(head)) {
      out[out.length - 1] = { ...prev, text: `${prev.text}\n${u.row}`, row: `${prev.row}\n${u.row}` };
    } else out.push(u);
  }
  return out;
}

/**
 * Honest uncertainty: no passage answers convincingly, but some articles come close. They are named as links, not
 * cited: a citation says "this supports the answer", and nothing here is an answer.
 */
function mayHelp(terms: string, hits: KnowledgeHit[]): AnswerBuilder {
  const a = new AnswerBuilder();
  a.add(`I searched the knowledge base for “${terms}”, but I couldn't find a passage that clearly answers this question.`);
  const seen = new Set<string>();
  const docs = hits.filter((h) => !seen.has(h.documentId) && seen.add(h.documentId)).slice(0, 3);
  a.paragraph('These articles may help:');
  docs.forEach((h, i) => a.item(`- [${plainTitle(h.title)}](${h.url})`, [], i === 0));
  return a;
}

/** A document title as plain link text: no markup from documents in answers. */
function plainTitle(title: string): string {
  return title.replace(/[\\`*_[\]<>#|]/g, '').replace(/\s+/g, ' ').trim().slice(0, 120) || 'Untitled';
}

function nothingFound(terms: string, also?: string): AnswerBuilder {
  const a = new AnswerBuilder();
  const what = also ? `the company directory for “${also}” and the knowledge base for “${terms}”` : `the knowledge base for “${terms}”`;
  a.add(`I searched ${what}, but I couldn't find anything that answers this question.`);
  a.add('Try rephrasing it with the words a policy or how-to article would use, or ask about a specific tool, policy or person.');
  return a;
}
