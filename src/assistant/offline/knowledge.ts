/** Knowledge questions: retrieve visible passages, keep only relevant ones, quote their best sentences with citations. */
import type { EngineCitation } from '../engine.ts';
import type { KnowledgeHit } from '../../knowledge/types.ts';
import { queryWords } from '../../knowledge/search.ts';
import { AnswerBuilder } from './compose.ts';
import type { OfflineKnowledge } from './directory-cite.ts';
import { contentStems, scoreUnits, selectUnits, unitsOf, type Unit } from './extract.ts';

export interface KnowledgeOutcome {
  reasoning: string[];
  answer: AnswerBuilder;
  found: boolean;
}

/** Share of rarity-weighted question terms a passage must contain to be used at all. */
export const MIN_COVERAGE = 0.6;
/** Cosine similarity that makes a dense-only match relevant. */
export const MIN_SIMILARITY = 0.8;

export interface KnowledgeAsk {
  k: OfflineKnowledge;
  assistant: string;
  principals: string[];
  question: string;
  /** Also searched (e.g. a name the directory did not know), to say honestly what was looked for. */
  alsoSearched?: string | undefined;
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
  const relevant = hits.filter(isRelevant);
  if (!relevant.length) return { reasoning, answer: nothingFound(terms, ask.alsoSearched), found: false };

  // The best document leads; a second one joins only if it is about as relevant.
  const byDoc = new Map<string, KnowledgeHit[]>();
  for (const h of relevant) {
    const list = byDoc.get(h.documentId) ?? [];
    list.push(h);
    byDoc.set(h.documentId, list);
  }
  const docs = [...byDoc.values()];
  const lead = docs[0]!;
  const chosenDocs = [lead];
  const second = docs[1];
  if (second && (second[0]!.coverage ?? 0) >= (lead[0]!.coverage ?? 0) && second[0]!.score >= lead[0]!.score * 0.8) chosenDocs.push(second);

  const a = new AnswerBuilder();
  let quoted = 0;
  for (const passages of chosenDocs) {
    const picked = pickFromDocument(passages.slice(0, 3), ask.question, quoted === 0 ? 4 : 2);
    if (!picked) continue;
    const cite = citationOf(picked.hit, picked.units);
    let prevList = false;
    picked.units.forEach((u, i) => {
      const last = i === picked.units.length - 1;
      const nextIsListItem = picked.units[i + 1]?.list === true;
      // Prose sentences are cited one by one; a list is cited once, after its last item.
      const cites: EngineCitation[] = u.list ? (nextIsListItem ? [] : [cite]) : [cite];
      if (quoted === 0 && i === 0) a.add(u.text, cites);
      else if (u.list) a.item(u.text, cites, !prevList);
      else a.add(u.text, cites, prevList || i === 0 ? '\n\n' : ' ');
      prevList = u.list;
      void last;
    });
    quoted++;
  }
  if (!quoted) return { reasoning, answer: nothingFound(terms, ask.alsoSearched), found: false };
  return { reasoning, answer: a, found: true };
}

function isRelevant(h: KnowledgeHit): boolean {
  return (h.coverage ?? 0) >= MIN_COVERAGE || (h.similarity ?? 0) >= MIN_SIMILARITY;
}

/** The passage of a document whose best sentences score highest, and those sentences. */
function pickFromDocument(passages: KnowledgeHit[], question: string, max: number): { hit: KnowledgeHit; units: Unit[] } | null {
  let best: { hit: KnowledgeHit; units: Unit[]; score: number } | null = null;
  passages.forEach((hit, rank) => {
    const units = unitsOf(hit.text);
    const headingStems = new Set(contentStems(`${hit.title} ${hit.heading}`));
    const headingHits = scoreUnits(units, question, headingStems);
    const chosen = selectUnits(units, question, max);
    if (!chosen.length) return;
    // Passage order from retrieval breaks near-ties; a heading that repeats the question's words counts too.
    const score = chosen.reduce((n, u) => Math.max(n, u.score), 0) + headingHits.length * 0.3 - rank * 0.05;
    if (!best || score > best.score) best = { hit, units: chosen, score };
  });
  return best;
}

function citationOf(hit: KnowledgeHit, units: Unit[]): EngineCitation {
  const attributes = [{ key: 'SOURCE', value: 'Knowledge base' }];
  if (hit.updatedAt) attributes.unshift({ key: 'UPDATE_DATETIME', value: hit.updatedAt });
  if (hit.heading) attributes.push({ key: 'SECTION', value: hit.heading });
  void units;
  return { key: `doc:${hit.documentId}`, url: hit.url, title: hit.title, body: hit.text, attributes };
}

function nothingFound(terms: string, also?: string): AnswerBuilder {
  const a = new AnswerBuilder();
  const what = also ? `the company directory for “${also}” and the knowledge base for “${terms}”` : `the knowledge base for “${terms}”`;
  a.add(`I searched ${what}, but I couldn't find anything that answers this question.`);
  a.add('Try rephrasing it with the words a policy or how-to article would use, or ask about a specific tool, policy or person.');
  return a;
}
