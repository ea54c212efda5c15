/**
 * Extractive answering: from the passages retrieval found, pick the sentences (or list items) that share the most
 * informative words with the question, and keep them verbatim so nothing is invented.
 */
import { splitSentences } from '../../knowledge/sentences.ts';
import { parseBlocks } from '../../knowledge/chunk.ts';
import { stem } from './stem.ts';
import { isLightWord, queryWords } from '../../knowledge/query.ts';
import { alternativesOf, segments } from '../../knowledge/thesaurus.ts';
import { backoffOf, backoffWithSynonyms, isParticle, lexiconSpans } from '../../knowledge/lexicon.ts';
import { questionTimes, timeFit } from './clock.ts';

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
  /** A table row: `text` is the header plus this row; the row alone is what holds (or lacks) the fact. */
  row?: string;
  /** Question stems the unit holds only as another way of saying them (thesaurus; see `bridgeUnits`). */
  bridged?: Set<string>;
  /** Holds the kind of fact the question asks for (set by `scoreUnits`). */
  typed?: boolean;
  /** Holds a question word itself (set by `scoreUnits`; a neighbour's share of relevance does not count). */
  holds?: boolean;
  /** How the hours it states fit the question's times of day (`timeFit`; set by `scoreUnits` for a unit that scores). */
  hours?: -1 | 0 | 1;
  /** Question stems the unit holds in another sense than the question's (part of a backed-off phrase): no credit. */
  misread?: Set<string>;
}

/** Sentences and list items of a passage, in order. */
export function unitsOf(passage: string): Unit[] {
  const units: Unit[] = [];
  for (const b of parseBlocks(passage)) {
    if (b.kind === 'heading') continue;
    if (b.kind === 'table') {
      // Each row competes on its own (a whole table shares a word with almost any question), quoted under its
      // header so it still reads as a table; the header's words count for every row.
      const lines = b.text.split('\n');
      const head = lines.length > 2 && /^\s*\|?\s*:?-{2,}/.test(lines[1]!) ? `${lines[0]}\n${lines[1]}\n` : '';
      const rows = head ? lines.slice(2) : [b.text];
      const headStems = contentStems(head);
      for (const row of rows) {
        if (!row.trim()) continue;
        units.push({ text: head + row, order: units.length, list: false, intro: false, stems: new Set([...contentStems(row), ...headStems]), score: 0, row });
      }
      continue;
    }
    const pieces = b.kind === 'list' || b.kind === 'code' ? [b.text] : splitSentences(b.text).map((s) => s.text);
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

/**
 * Lets a sentence that says a question word another way count as holding it: for each thesaurus phrase of the
 * question ("sick", "log in"), a unit holding every stem of one of its alternatives ("illness", "sign in") also
 * gets the question's own stems. Linear in units × alternatives.
 */
export function bridgeUnits(question: string, units: readonly Unit[]): void {
  // What the candidate sentences say in their own words, before any bridging (the back-off acts only where the
  // asker's words are absent from all of them).
  const present = new Set<string>();
  for (const u of units) for (const st of u.stems) present.add(st);
  bridgeShortForms(question, units, present);
  bridgeBackoff(question, units, present);
  const concepts = segments(queryWords(question).slice(0, MAX_QUESTION_STEMS))
    .filter((g) => g.alts.length)
    .map((g) => ({ own: contentStems(g.text), alts: sayings(g.alts) }))
    .filter((c) => c.own.length);
  if (!concepts.length) return;
  for (const u of units) {
    for (const c of concepts) {
      if (c.own.every((s) => u.stems.has(s))) continue;
      if (c.alts.some((a) => says(u, a))) for (const s of c.own) bridge(u, s);
    }
  }
}

/** Another way of saying a question word: its stems, and its words in order when it must be said as written. */
interface Saying {
  stems: string[];
  words: string[] | null;
}

/**
 * The ways of saying something, as sentences are checked for them. A phrase that keeps one content word ("out of
 * hours" → hour, "sign in" → sign) counts only where it is written out word after word: its one content word in a
 * sentence ("12-hour shift") does not say it. (Phrases of several content words may be spread over a table row and
 * its header.)
 */
function sayings(alternatives: readonly string[]): Saying[] {
  return alternatives
    .map((a) => {
      const stems = contentStems(a);
      return { stems, words: a.includes(' ') && stems.length < 2 ? wordStems(a) : null };
    })
    .filter((a) => a.stems.length);
}

/** The unit says `a` (see `sayings`). */
function says(u: Unit, a: Saying): boolean {
  return a.stems.every((st) => u.stems.has(st)) && (!a.words || holdsSequence(u, a.words));
}

/** Most lexicon words or phrases of one question that sentence choice backs off (see bridgeBackoff). */
const MAX_BACKOFF = 6;

/**
 * The back-off lexicon in sentence choice (see lexicon.ts): a question word or phrase that no candidate sentence
 * holds ("puked", "locked out") counts as held by a sentence that says one of the lexicon's words for it
 * ("vomiting", "account lockout"), at the weight of another way of saying it (`bridged`). A phrase counts as held
 * only where a sentence says it word after word; a lexicon word that keeps one content word ("sign in") must be
 * written out too. Where a sentence holds only part of a backed-off phrase ("a day pass" for "passed away"), that
 * part means something else there and earns it nothing (`misread`).
 */
export function bridgeBackoff(question: string, units: readonly Unit[], present: ReadonlySet<string>): void {
  const words = queryWords(question).slice(0, MAX_QUESTION_STEMS);
  const spans = lexiconSpans(words)
    .map((sp) => ({ ...sp, own: [...new Set(contentStems(sp.text))], seq: sp.end - sp.start > 1 ? wordStems(sp.text) : null }))
    .filter((sp) => sp.own.length && (sp.seq ? !units.some((u) => sp.own.every((st) => u.stems.has(st)) && holdsSequence(u, sp.seq!)) : !sp.own.every((st) => present.has(st))))
    // As in retrieval (query.ts), a phrase of words the sentences know is left to its words unless it is an idiom
    // (a particle or an everyday verb: "passed away", "locked out"); "lost my phone" is said by its words.
    .filter((sp) => !sp.seq || words.slice(sp.start, sp.end).some((w) => isParticle(w) || isLightWord(w) || contentStems(w).some((st) => !present.has(st))))
    .slice(0, MAX_BACKOFF);
  if (!spans.length) return;
  const concepts = spans.map((sp) => ({
    ...sp,
    alts: sayings(backoffWithSynonyms(sp.text)),
    // Stems the question uses only inside this phrase: elsewhere they are another word.
    only: sp.seq ? sp.own.filter((st) => !words.some((w, i) => (i < sp.start || i >= sp.end) && contentStems(w).includes(st))) : [],
  }));
  for (const u of units) {
    for (const c of concepts) {
      if (c.alts.some((a) => says(u, a))) {
        for (const st of c.own) bridge(u, st);
      } else if (c.seq && c.only.length) {
        for (const st of c.only) if (u.stems.has(st) && !u.bridged?.has(st)) (u.misread ??= new Set()).add(st);
      }
    }
  }
}

/** Every word of a text, stemmed, stop words kept (for phrase matching). */
function wordStems(text: string): string[] {
  return (text.toLowerCase().replace(/['’](s|re|ve|ll|d|m)\b/g, '').match(WORDS_OF) ?? []).map((w) => SAME[stem(w)] ?? stem(w));
}

const SEQUENCES = new WeakMap<Unit, string>();

/** The unit says the phrase word after word. */
function holdsSequence(u: Unit, words: readonly string[]): boolean {
  let seq = SEQUENCES.get(u);
  if (seq === undefined) SEQUENCES.set(u, (seq = ` ${wordStems((u.row ?? u.text).slice(0, 4000)).join(' ')} `));
  return seq.includes(` ${words.join(' ')} `);
}

/** Lets a unit count as holding a question stem it says another way (recorded in `bridged`). */
function bridge(u: Unit, st: string): void {
  if (u.stems.has(st)) return;
  u.stems.add(st);
  (u.bridged ??= new Set()).add(st);
}

/** Words written out in a unit, hyphenated compounds split ("Medical-Surgical" → Medical, Surgical). */
const WORDS_OF = /[\p{L}\p{N}]+/gu;

/**
 * Short forms the asker types and the passages spell out, found in the passages themselves (no word list):
 * an acronym matched by the initials of consecutive words ("MA" → "medical assistant", "PTO" → "paid time off"),
 * and a clipped word no candidate sentence uses, matched as the start of one it does ("surg" → "surgical").
 * Such a unit counts as holding the question's word, at the weight of another way of saying it.
 */
function bridgeShortForms(question: string, units: readonly Unit[], present: ReadonlySet<string>): void {
  const q = question.slice(0, 2000);
  const acronyms = [...new Set([...q.matchAll(/\b(\p{Lu}{2,5})s?\b/gu)].map((m) => m[1]!))].slice(0, 8);
  // A clipped word is typed short ("surg", "meds"); a full word whose stem is short ("wedding" → wed) is not one.
  const typedShort = new Set(queryWords(q).filter((w) => w.length <= 7).flatMap((w) => contentStems(w).filter((st) => w.length <= st.length + 1)));
  const clipped = [...typedShort].filter((st) => st.length >= 3 && st.length <= 6 && !present.has(st) && !/\d/.test(st)).slice(0, 8);
  // Contractions by their consonants ("mgr" → manager, "dept" → department): the commonest candidate word that
  // starts and ends with the same letters and holds the rest in order.
  const contracted = new Map<string, string>();
  for (const w of new Set(queryWords(q))) {
    if (w.length < 2 || w.length > 4 || !/^\p{L}+$/u.test(w) || /[aeiouy].*[aeiouy]/.test(w.slice(1)) || STOP.has(w)) continue;
    const st = contentStems(w)[0];
    if (!st || present.has(st)) continue;
    const full = contractionOf(w, units);
    if (full) contracted.set(st, full);
    if (contracted.size >= 4) break;
  }
  for (const [st, full] of contracted) for (const u of units) if (u.stems.has(full)) bridge(u, st);
  if (!acronyms.length && !clipped.length) return;
  for (const u of units) {
    if (acronyms.length) {
      const words = (u.row ?? u.text).slice(0, 2000).match(WORDS_OF) ?? [];
      const initials = words.map((w) => w[0]!.toLowerCase()).join('');
      for (const a of acronyms) {
        const st = contentStems(a.toLowerCase())[0];
        if (!st || u.stems.has(st)) continue;
        const at = initials.indexOf(a.toLowerCase());
        // The initials must start real words (not single letters or numbers) to spell the acronym.
        if (at >= 0 && words.slice(at, at + a.length).every((w) => w.length >= 2 && /^\p{L}/u.test(w))) bridge(u, st);
      }
    }
    for (const c of clipped) {
      for (const st of u.stems) {
        if (st.length >= c.length + 2 && st.startsWith(c)) {
          bridge(u, c);
          break;
        }
      }
    }
  }
}

/**
 * The stem of the word a contraction stands for among the candidate sentences: same first and last letter, the
 * contraction's letters in order, at least three letters longer; the commonest such word, and only when it is at
 * least twice as common as the next (else it is a guess).
 */
function contractionOf(short: string, units: readonly Unit[]): string | null {
  const counts = new Map<string, number>();
  for (const u of units) {
    for (const word of new Set((u.row ?? u.text).slice(0, 2000).toLowerCase().match(WORDS_OF) ?? [])) {
      if (word.length < short.length + 3 || word[0] !== short[0] || word[word.length - 1] !== short[short.length - 1]) continue;
      let i = 1;
      for (let j = 1; j < word.length - 1 && i < short.length - 1; j++) if (word[j] === short[i]) i++;
      if (i < short.length - 1) continue;
      const st = contentStems(word)[0];
      if (st) counts.set(st, (counts.get(st) ?? 0) + 1);
    }
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1]);
  if (!ranked.length || ranked[0]![1] < 2 || (ranked[1] && ranked[1][1] * 2 > ranked[0]![1])) return null;
  return ranked[0]![0];
}

/** How much more a word of the asking sentence weighs than one of the story around it. */
const ASKED_BOOST = 1.5;

/**
 * Stems of the question's sentences that end in a question mark, when it also has sentences that do not (a story);
 * null for a plain one-sentence question (nothing to tell apart).
 */
export function askedStems(question: string): Set<string> | null {
  const parts = question.slice(0, 2000).split(/(?<=[?.!])\s+/).filter((p) => /[\p{L}\p{N}]/u.test(p));
  const asking = parts.filter((p) => p.includes('?'));
  if (!asking.length || asking.length === parts.length) return null;
  return new Set(contentStems(queryWords(asking.join(' ')).join(' ')));
}

/** Most a light word (see isLightWord) may weigh in a sentence's score. */
const LIGHT_CAP = 0.6;

/** At most this many distinct question stems are weighed (a pasted page is not a question; keeps scoring linear). */
const MAX_QUESTION_STEMS = 48;

/** Weights of the question's stems: rarer among the candidate sentences = more telling; names count double. */
export function stemWeights(question: string, units: readonly Unit[]): Map<string, number> {
  // The question's words as retrieval reads them: conversational filler ("work", "know", "really") says nothing.
  const q = [...new Set(contentStems(queryWords(question.slice(0, 4000)).join(' ')))].slice(0, MAX_QUESTION_STEMS);
  const proper = properStems(question);
  const n = units.length || 1;
  // One pass over the units counts every stem's document frequency (not one pass per stem).
  const df = new Map<string, number>(q.map((s) => [s, 0]));
  for (const u of units) for (const s of u.stems) if (df.has(s)) df.set(s, df.get(s)! + 1);
  const weight = new Map<string, number>();
  // Everyday verbs, circumstance words and bare numbers say little about which sentence answers.
  const light = new Set(queryWords(question).slice(0, MAX_QUESTION_STEMS * 2).filter(isLightWord).flatMap((w) => contentStems(w)));
  const heavy = new Set(queryWords(question).slice(0, MAX_QUESTION_STEMS * 2).filter((w) => !isLightWord(w)).flatMap((w) => contentStems(w)));
  // Chatty questions tell their circumstances in plain sentences and ask in the one with a question mark: the
  // asking sentence's words say what the answer is about, the story's only where the asker stands.
  const asked = askedStems(question);
  // A stem no candidate sentence has carries no evidence either way (it would only dilute shares and averages).
  for (const s of q) if (df.get(s)! > 0) {
    // A name counts double where it is asked about; in the story around the question it says where the asker is.
    const w = Math.log(1 + n / (1 + df.get(s)!)) * (proper.has(s) && (!asked || asked.has(s)) ? 2 : 1);
    // A light word rare among these sentences is still a light word: a small, capped share of its weight.
    const lw = light.has(s) && !heavy.has(s) ? Math.min(0.4 * w, LIGHT_CAP) : w;
    weight.set(s, asked && asked.has(s) ? ASKED_BOOST * lw : lw);
  }
  return weight;
}

/** The kind of fact a question asks for. */
export type AnswerType = 'duration' | 'amount' | 'quantity' | 'count' | 'time' | 'frequency' | 'place' | 'person' | 'contact';

const NUM = String.raw`(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred|a few|several|a|an)`;
const UNIT = String.raw`(?:seconds?|minutes?|mins?|hours?|hrs?|days?|business days?|working days?|calendar days?|weeks?|months?|years?|yrs?|shifts?|nights?)`;

/** What a sentence holding each kind of fact looks like. */
const HAS: Record<Exclude<AnswerType, 'quantity'>, RegExp> = {
  duration: new RegExp(String.raw`\b${NUM}[\s-]+(?:full\s+|consecutive\s+|scheduled\s+|paid\s+|unpaid\s+)?${UNIT}\b|\bimmediately\b|\bsame day\b|\bovernight\b`, 'i'),
  amount: /[$€£¥]\s?\d|\b\d[\d,.]*\s?(%|percent\b|dollars?\b|euros?\b|pounds?\b|cents?\b|usd\b|eur\b|gbp\b)|\bper (hour|mile|km|kilometre|kilometer|day|night|shift|month|year|person)\b|\b(free|no charge|no cost|at no cost|full cost)\b/i,
  count: new RegExp(String.raw`\b\d+\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|once|twice|no more than|up to|at most|at least)\b`, 'i'),
  time: /\b\d{1,2}(:\d\d)?\s?(a\.m\.|p\.m\.|am|pm)\b|\b\d{1,2}:\d\d\b|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekdays?|weekends?|january|february|march|april|june|july|august|september|october|november|december|noon|midnight|morning|afternoon|evening)\b|\b\d{1,2}(st|nd|rd|th)\b|\b(within|no later than)\s+\S+|\b(before|after|by|until)\s+(\d|the (end|start|first|last)|noon|midnight)|\b(first|last|next) (day|week|month|business day)\b|\bimmediately\b/i,
  frequency: /\b(every|each|per|once|twice|times|annual(ly)?|monthly|weekly|daily|yearly|quarterly|hourly|biweekly)\b|\w-(year|month|week|day)\b/i,
  place: /\b(floor|room|building|desk|reception|office|located|lobby|portal|site|level|garage|lot|entrance|wing|suite|center|centre|campus|street|st\.|road|rd\.|avenue|ave\.|basement|cafeteria|department|counter|station|website|page|app)\b|https?:\/\/|\S+@\S+|\b[A-Z]{1,3}-?\d{2,4}\b/i,
  person: /\b(firm|vendor|company|contractor|provider|agency|service|team|manager|supervisor|officer|head|director|desk|department|office|coordinator|administrator|specialist|lead|chair|committee|hr|human resources|payroll|service ?desk|help ?desk|security|representative|contact|on call|on-call)\b|@|\bext\.?\s?\d/i,
  contact: /\bext\.?\s?\d|\b\d{3}[-. ]\d{4}\b|\(\d{3}\)|\b1-\d{3}-\d{3}-\d{4}\b|\S+@\S+\.\S+|https?:\/\/|\b(call|phone|email|e-mail|text|page|portal|submit|ticket|form)\b/i,
};

// What a question asks for, found anywhere in it (chatty questions put the question last); first match wins.
const ASKS: [RegExp, AnswerType][] = [
  [/\bhow often\b|\bhow frequently\b|\bhow many times (a|per|each)\b/i, 'frequency'],
  [/\bhow (long|soon|fast|quickly|late|early)\b|\bhow far (in advance|ahead)\b|\bhow much time\b|\bhow many (seconds|minutes|hours|days|business days|working days|weeks|months|years|shifts|nights)\b|\bwhat(s|['’]s| is) the (deadline|time limit|waiting period|notice period)\b|\bdeadline\b|\bcut-?off\b|\bhow much notice\b|\bwithin how\b/i, 'duration'],
  [/\bhow much\b|\bwhat(s|['’]s| is| are) the (rate|cost|price|fee|charge|limit|allowance|amount|budget|cap|stipend|pay|reimbursement|premium|differential|maximum|minimum)s?\b|\b(cost|price|fee|rate|stipend|allowance|per diem|reimburse\w*|differential|premium|money)\b.*\?|\bhow many (dollars|euros|pounds)\b/i, 'amount'],
  [/\bhow many\b|\bwhat (number|percentage|percent)\b/i, 'count'],
  [/\bwhen\b|\bwhat (times?|days?|dates?|hours?)\b|\bwhich (day|days|date|month)\b|\bby what (time|date)\b|\bopening hours\b/i, 'time'],
  [/\bwhere\b|\bwhich (room|floor|building|lot|office|site|entrance|desk|website|page|app|portal)\b/i, 'place'],
  [/\b(phone|telephone) number\b|\bnumber (for|of|to call)\b|\bemail address\b|\bhow (do|can|should) (i|we) (reach|contact|call)\b|\bwho (do|should|can) (i|we) (call|contact|phone|email|ring)\b/i, 'contact'],
  [/\bwho\b|\bwhom\b|\bwhich (team|department|person|group|office)\b/i, 'person'],
  // "Will I have to pay for it?", "do they charge for it?": a yes-or-no question about paying is answered by the
  // amount (after the wh-words, so "where do I pay for parking?" still asks for a place).
  [/\b(have|has|need|needs|got) to pay\b|\b(charged|charge me|charge us|pay) for (it|this|that|the|a|an|my|them|those|these)\b/i, 'amount'],
];

/** A question about money: its "how much" wants an amount of money, not of time. */
const MONEY = /[$€£¥]|\b(pay|paid|pays|cost|costs|price|fee|fees|charge|charged|money|dollars?|euros?|pounds?|cents?|reimburs\w*|allowance|stipend|rate|salary|wages?|budget|spend|spent|per diem|differential|premium|bonus|refund|fine|owe)\b/i;

/** "How much leave / time / notice": how much of a thing, not "how much is it" (a price). */
const QUANTITY_OF = /\bhow much(?!\s+(is|are|was|were|will|would|does|do|did|can|could|should|it|that|this)\b)(\s+\p{L}+|\s*[?.!,]|\s*$)/iu;

/**
 * A question about money: a money word, or a word the thesaurus or the back-off lexicon says is one ("paycheque" →
 * payslip, pay): the word lists need not repeat every name of the pay packet.
 */
function aboutMoney(q: string): boolean {
  if (MONEY.test(q)) return true;
  return queryWords(q).slice(0, MAX_QUESTION_STEMS).some((w) => w.length > 3 && [...alternativesOf(w), ...backoffOf(w).slice(0, 4)].some((a) => MONEY.test(a)));
}

/** The kind of fact the question asks for, if it asks for one. */
export function answerType(question: string): AnswerType | null {
  const q = question.length > 2000 ? question.slice(0, 2000) : question;
  for (const [re, type] of ASKS) {
    if (!re.test(q)) continue;
    // "How much" of something that is not money (leave, time off, notice) is answered in hours or days.
    if (type === 'amount' && QUANTITY_OF.test(q) && !aboutMoney(q)) return 'quantity';
    return type;
  }
  return null;
}

/** True when a sentence holds the kind of fact asked for. */
export function hasAnswerType(text: string, type: AnswerType): boolean {
  // "When": a duration ("within 24 hours") or a frequency ("every Monday") answers it too; "how long": a time.
  if (type === 'time') return HAS.time.test(text) || HAS.duration.test(text) || HAS.frequency.test(text);
  // "How long / what's the cutoff": a date or a time limit ("by October 15", "before 07:00") answers it too.
  if (type === 'duration') return HAS.duration.test(text) || HAS.time.test(text);
  // "How much (leave, time, training)": an amount of hours or days answers it as well as money does.
  if (type === 'quantity') return HAS.amount.test(text) || HAS.duration.test(text);
  if (type === 'contact') return HAS.contact.test(text);
  if (type === 'person') return HAS.person.test(text) || HAS.contact.test(text);
  return HAS[type].test(text);
}

/** "This article explains …", "See the X article": says what the page is about or where to look, answers nothing. */
const META = /^(this|the following|these|the) (article|page|guide|document|section|policy|procedure|process|table|list|faq)s? (explains|describes|covers|lists|tells|sets out|summari[sz]es|outlines|applies|shows|is for|gives|answers)\b|^(see|refer to|read|for more( information)?|for details|more information)\b/i;

/**
 * The question's multi-word thesaurus phrases as stem lists ("passed away" → pass, awai): a sentence holding only
 * part of a phrase ("a day pass") does not hold what the phrase means, so those stems earn it nothing.
 */
export function phraseStems(question: string): string[][] {
  return segments(queryWords(question).slice(0, MAX_QUESTION_STEMS))
    .filter((g) => g.text.includes(' ') && g.alts.length)
    .map((g) => contentStems(g.text))
    .filter((st) => st.length > 1);
}

/** A sentence that is mostly links ("Related pages", "See also" lists) points elsewhere; it answers nothing. */
function mostlyLinks(text: string): boolean {
  let linked = 0;
  for (const m of text.matchAll(/\[([^\]]{0,300})\]\([^)\s]{0,500}\)/g)) linked += m[0].length;
  return linked > 0.5 * text.length;
}

/** Share of a question word's weight a sentence earns by saying it another way (thesaurus): a synonym is weaker
 * evidence than the word itself, and keeps a sentence that merely shares a broad synonym from outranking the one
 * that uses the asker's own word. */
const BRIDGED = 0.7;
/** A sentence that opens by pointing back ("It", "This", "They"): its subject is in the sentence before. */
const ANAPHOR = /^(it|this|they|these|that|those|such|he|she)\b(?!\s+(is|are|was|were)\s+(not\s+)?(important|possible|recommended|necessary|required|best|easy|hard)\b)/i;
/** Share of the sentence before's matched words a pointing-back sentence holds (see ANAPHOR). */
const CARRIED = 0.5;
/** Sentences scoring below this share of the best one are not quoted. */
const KEEP_RATIO = 0.35;
/** Share of its neighbour's score a sentence that matches nothing itself inherits (see `scoreUnits`). */
const NEIGHBOUR = 0.5;

/** Scores units against the question: weighted shared stems, plus a bonus when a unit has the kind of answer asked for. */
export function scoreUnits(units: Unit[], question: string, weight: Map<string, number> = stemWeights(question, units), opts: { heading?: number; proper?: Set<string> } = {}): void {
  const avg = weight.size ? [...weight.values()].reduce((a, b) => a + b, 0) / weight.size : 1;
  const wanted = answerType(question);
  const subject = definitionSubject(question);
  const subjectRe = subject ? new RegExp(`\\b${escapeRe(subject)}\\b,? (is|are|was|will)\\b`, 'i') : null;
  const proper = opts.proper && opts.proper.size ? opts.proper : null;
  const phrases = phraseStems(question);
  // The times of day the question is about ("at 1am", "overnight"): a sentence whose hours hold them answers it.
  const times = questionTimes(question);
  const rate = wanted === 'amount' || wanted === 'quantity' ? rateOf(question) : null;
  // Each unit's own score, and whether it holds any question word at all.
  const own = units.map((u) => {
    let score = 0;
    let holds = false;
    for (const [s, w] of weight) {
      if (!u.stems.has(s) || u.misread?.has(s)) continue;
      holds = true;
      score += u.bridged?.has(s) ? BRIDGED * w : w;
    }
    for (const ph of phrases) {
      const held = ph.filter((s) => u.stems.has(s));
      if (held.length && held.length < ph.length) for (const s of new Set(held)) score -= weight.get(s) ?? 0;
    }
    return { score, holds };
  });
  // "… post-exposure medicine. It works best when started within 2 hours": a sentence opening with a pronoun is
  // about what the sentence before it named, so it also holds (at half weight) the question words that one holds.
  for (const [i, u] of units.entries()) {
    const prev = units[i - 1];
    if (!prev || u.list || u.row !== undefined || prev.row !== undefined || !ANAPHOR.test(u.text)) continue;
    let carried = 0;
    for (const [s, w] of weight) if (prev.stems.has(s) && !u.stems.has(s)) carried += (prev.bridged?.has(s) ? BRIDGED : 1) * w;
    if (carried > 0 && own[i]!.holds) own[i]!.score += CARRIED * carried;
  }
  for (const [i, u] of units.entries()) {
    let score = own[i]!.score;
    // A sentence right after (or before) one that matches continues its point ("… ask for an exemption.
    // Requests must be submitted by October 15."): it shares part of that sentence's relevance.
    if (!own[i]!.holds) score = NEIGHBOUR * Math.max(own[i - 1]?.score ?? 0, own[i + 1]?.score ?? 0);
    u.typed = false;
    u.holds = own[i]!.holds;
    u.hours = 0;
    if (score > 0) {
      // Sentences under a heading that repeats the question share a little of its relevance.
      score += 0.3 * (opts.heading ?? 0);
      // A sentence that names none of the names the question names ("Tokyo") answers another question.
      if (proper && ![...proper].some((p) => u.stems.has(p))) score *= 0.5;
      // A sentence of the asked-for kind beats one that merely shares words; one of another kind is demoted.
      if (wanted) {
        u.typed = hasAnswerType(u.row ?? u.text, wanted);
        score = u.typed ? score + 1.2 * avg : score * 0.7;
        // "How much extra an hour?": an amount stated per hour (here or in its table's header) is the rate asked for.
        if (u.typed && rate && rate.test(u.text.slice(0, 2000))) score += 0.5 * avg;
      }
      if (subjectRe?.test(u.text)) score += avg;
      if (times.length) {
        const fit = (u.hours = timeFit(times, u.row ?? u.text));
        if (fit > 0) score += avg;
        else if (fit < 0) score *= 0.6;
      }
      if (META.test(u.text) || mostlyLinks(u.text)) score *= 0.3;
    }
    u.score = score;
  }
}

const PER = String.raw`(?:hour|hr|day|night|shift|mile|km|kilometre|kilometer|week|month|year|visit|meal|trip|person|head|class|course|credit)`;

/**
 * The unit of a rate the question asks for ("how much … an hour", "per mile", "a night"), as a pattern for a
 * sentence stating an amount per that unit ("$4.25 per hour", "Amount per hour", "hourly"); null when none.
 */
export function rateOf(question: string): RegExp | null {
  // Clipped units ("each yr", "per wk") are read as the back-off lexicon spells them out.
  const text = question.slice(0, 2000).replace(/[\p{L}]+/gu, (w) => {
    const full = backoffOf(w.toLowerCase())[0];
    return full && !full.includes(' ') && PER_UNIT.test(full) ? full : w;
  });
  const m = new RegExp(String.raw`\b(?:an?|per|each|every|a single)\s+(${PER})s?\b|\/\s?(${PER})\b|\b(hour|dai|week|month|year|night)ly\b`, 'i').exec(text);
  if (!m) return null;
  const unit = (m[1] ?? m[2] ?? m[3]!).toLowerCase();
  const ly = unit === 'dai' || unit === 'day' ? 'daily' : `${unit}ly`;
  // One word may qualify the unit: "per calendar year", "a working day", "each school year".
  return new RegExp(String.raw`\b(?:an?|per|each|every)\s+(?:[a-z]+\s+)?${unit}s?\b|\/\s?${unit}\b|\b${ly}\b`, 'i');
}

const PER_UNIT = new RegExp(String.raw`^${PER}s?$`, 'i');

/** "What is Project Northstar?" → "Project Northstar". */
function definitionSubject(question: string): string | null {
  // Trailing punctuation is cut first, in one linear pass: a lazy group before `[?.!]*$` is quadratic.
  let end = question.length;
  while (end > 0 && /[\s?.!]/.test(question[end - 1]!)) end--;
  const q = question.slice(0, Math.min(end, 200)).trim();
  const m = /^what (is|are|was) (the |an? )?(.+)$/i.exec(q);
  return m && m[3]!.split(' ').length <= 4 ? m[3]! : null;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const HOW_TO = /^(how (do|can|should|would) (i|we|you)|how to|what(s|['’]s| is| are) the (steps|process)|steps (to|for))\b/i;

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
      if (u.score < top * KEEP_RATIO) break;
      // Rows of a table share its header's words: another row joins only when it is nearly as good.
      if (u.row !== undefined && u.score < top * 0.9) continue;
      chosen.add(u);
    }
    // A question asking for a kind of fact ("how much", "how long") that none of these holds ("up to the same
    // annual maximum"): the best unit close behind that holds one comes too (the table row with the figure).
    // (`typed` is set by scoreUnits, only when the question asks for a kind of fact.)
    if (![...chosen].some((u) => u.typed)) {
      const typed = ranked.find((u) => u.typed && !chosen.has(u) && u.score >= top * KEEP_RATIO);
      if (typed) chosen.add(typed);
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
