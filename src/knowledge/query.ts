/**
 * How a question becomes search terms: content words, stemmed by PostgreSQL's `english` configuration, each with
 * the other ways a passage may say it (a few synonyms, a close word form, a typo fix) and a rarity weight counted
 * over the passages the asker may see.
 */
import type { Db } from '../store/db.ts';
import { editDistance } from './fuzzy.ts';
import { backoffOf, backoffWithSynonyms, isLexiconWord, isParticle, lexiconSpans } from './lexicon.ts';
import { alternativesOf, segments } from './thesaurus.ts';

// Conversational filler that PostgreSQL's english stop list keeps but that never identifies a passage.
const FILLER = new Set([
  'please', 'tell', 'know', 'need', 'want', 'like', 'would', 'could', 'should', 'may', 'might', 'must', 'shall',
  'get', 'got', 'getting', 'let', 'lets', 'anyone', 'someone', 'somebody', 'anything', 'something', 'thing', 'things',
  'also', 'many', 'much', 'way', 'ways', 'go', 'going', 'make', 'sure', 'actually', 'really', 'hi', 'hello', 'hey',
  'thanks', 'thank', 'info', 'information', 'question', 'explain', 'find', 'show', 'give', 'us', 'wondering',
  'possible', 'able', 'ok', 'okay', 'yes', 'say', 'says', 'said', 'one', 'ever', 'use', 'using', 'work', 'company',
  'acme', 'whats', 'hows', 'im', 'ive', 'id', 'dont', 'doesnt', 'cant', 'isnt', 'arent', 'wont', 'theres',
  // Question shape ("how often", "how long", "what size"): says what kind of answer is wanted, not what it is about.
  'often', 'long', 'fast', 'quickly', 'far', 'soon', 'late', 'early', 'size', 'kind', 'type', 'sort', 'allowed',
  'minimum', 'maximum', 'length', 'happen', 'happens', 'exactly', 'currently', 'usually', 'normally', 'typically',
  'still', 'supposed', 'required', 'longest', 'shortest', 'soonest', 'earliest', 'latest', 'fastest', 'quickest',
  'somewhere', 'anywhere', 'everywhere', 'towards', 'toward',
  // Function words PostgreSQL's stop list lacks (conjunctions and prepositions of the SMART stop list): they join a
  // story's clauses ("since spring", "till Friday"), never name a topic.
  'since', 'till', 'unless', 'although', 'whether', 'onto', 'upon', 'whereas',
  // Chat: intensifiers, hedges, feelings and time-of-telling words say how someone asks, not what about.
  'just', 'really', 'totally', 'pretty', 'super', 'very', 'quite', 'so', 'again', 'already', 'even', 'always',
  'never', 'sometimes', 'maybe', 'probably', 'basically', 'literally', 'honestly', 'seriously', 'definitely',
  'anyway', 'anyways', 'though', 'guess', 'think', 'thinking', 'hope', 'hoping', 'wonder', 'curious', 'confused',
  'worried', 'sure', 'fine', 'trying', 'try', 'tried', 'figure', 'wanted', 'looking', 'looks', 'seems', 'seem',
  'anymore', 'anybody', 'nobody', 'everybody', 'everyone', 'folks', 'guys', 'stuff', 'whatever', 'today',
  'tonight', 'yesterday', 'tomorrow', 'ago', 'right', 'now', 'lol', 'thx', 'pls', 'plz', 'umm', 'um', 'hmm',
  'tiny', 'little', 'bit', 'lot', 'lots', 'kinda', 'sorta', 'gonna', 'wanna', 'gotta', 'yeah', 'yep', 'nope',
]);

// Other ways a passage says the same thing; deliberately small and generic (word forms and typos are handled apart).
const SYNONYMS: Record<string, string[]> = {
  fly: ['flight'], flying: ['flight'], flew: ['flight'], flight: ['fly'], flights: ['fly'],
  uk: ['united kingdom'], britain: ['united kingdom'], usa: ['united states'],
  vacation: ['pto', 'time off'], vacations: ['pto', 'time off'], pto: ['vacation', 'time off'],
  payday: ['pay date', 'paid'], paycheck: ['payslip', 'pay'], salary: ['pay', 'compensation'],
  laptop: ['computer'], computer: ['laptop'], boss: ['manager'], car: ['vehicle'], vehicle: ['car'],
  cellphone: ['mobile'], wifi: ['wi-fi'], email: ['e-mail'],
};

// Everyday words one letter away from other everyday words: never "corrected" into what the passages say.
const EVERYDAY = new Set(
  `wife went west stole store drove drive dove kid kids mom mum dad son sister brother aunt uncle cousin niece nephew
  friend home house dog cat pet bird fish car bus bike boat train plane lake sea beach park yard garden kitchen
  couch bed sofa door wall roof floor room hall fell fall felt feel fill full hold told sold cold bold mold gold
  coffee tea milk food meal lunch dinner snack cake party wedding birthday church school class teacher student
  baby boy girl man woman men women hurt sick well ill cut burn burnt broke broken lost last list late lake
  week weak wear were where here hear near year dear fear rain snow wind storm ice hot warm cool wet dry tired
  walk talk run ran ride rode sat sit set seat read lead led said paid laid made make take took come came gave
  give live life wife knife night light right might sight fight tight weight eight height bright flight`.split(/\s+/),
);

// Words about the asker's life rather than a workplace topic (a closed class: kin, home, days, months, seasons):
// chatty questions carry them, so when the passages never use them they say nothing about what is asked.
const SITUATION = new Set(
  `mom mum mother dad father parent parents wife husband spouse partner kid kids child children son daughter baby
  sister brother sibling aunt uncle cousin niece nephew grandma grandpa grandmother grandfather grandparent
  grandparents family friend friends neighbor neighbour roommate boyfriend girlfriend fiance fiancee home house
  apartment flat weekend morning afternoon evening night week month year monday tuesday wednesday thursday friday
  saturday sunday january february march april may june july august september october november december spring
  summer autumn fall winter christmas xmas easter thanksgiving hanukkah diwali eid ramadan birthday wedding`.split(/\s+/),
);

// Everyday verbs and adjectives that say what happens rather than what about ("take", "put", "back", "new"), and
// bare numbers and ordinals ("3 weeks", "5 times", "the 2nd time": the asker's circumstances far more often than the
// asked-for fact). They still
// match, at a fraction of their rarity weight: a passage sharing only these with a question is not about it.
const LIGHT = new Set(
  `take takes took taken taking put puts putting set sets go goes went gone come comes came coming back keep keeps
  kept keeping start starts started starting next last new old big small good bad better best happen happened run
  runs running stop stops stopped give gives gave given send sends sending sent bring brings brought pick picks picked turn turns
  turned look looked see saw seen feel feels felt told ask asks asked asking done doing did made help helps helped
  left stay stays stayed hold held hit show shows showed stuck pull pulled hand handed
  lot part whole full thing half couple few not without else regular away`.split(/\s+/),
);

/** True for an everyday verb or adjective, or a bare number: matches count for little (see LIGHT). */
export function isLightWord(text: string): boolean {
  return LIGHT.has(text) || SITUATION.has(text) || /^\d{1,3}(st|nd|rd|th)?$/.test(text) || /^\d{1,2}(am|pm|h|hrs?|min|mins)$/.test(text);
}

/** Share of its rarity weight a light word keeps in retrieval. */
export const LIGHT_WEIGHT = 0.5;

/** True for a word about the asker's circumstances (family, home, days) rather than what the question is about. */
export function isSituationWord(text: string): boolean {
  return SITUATION.has(text);
}

/** A word the asker surely meant as written (everyday English, or a thesaurus word). */
function isEnglishWord(text: string): boolean {
  return EVERYDAY.has(text) || alternativesOf(text).length > 0 || isLexiconWord(text);
}

/** Lower-cased words of a text, contractions opened and punctuation removed, filler kept. */
export function questionTokens(query: string): string[] {
  return query
    // Plural abbreviations ("PCs", "RNs", "SOPs") are the abbreviation: the passages write it in the singular or define it.
    .replace(/\b(\p{Lu}{2,5})s\b/gu, '$1')
    .toLowerCase()
    .replace(/\b(can|won)['’]t\b/g, (_m, w: string) => (w === 'can' ? 'can not' : 'will not'))
    .replace(/n['’]t\b/g, ' not')
    .replace(/['’](s|re|ve|ll|d|m)\b/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** True for conversational filler that never identifies a passage (see FILLER). */
export function isFiller(word: string): boolean {
  return FILLER.has(word);
}

/** Lower-cased content words of a question, punctuation removed (safe to hand to to_tsvector). */
export function queryWords(query: string): string[] {
  // "id" is filler as "I'd" typed without its apostrophe; written "ID" it is an identity card or number.
  const idCard = /\bIDs?\b/.test(query);
  return questionTokens(query).filter((w) => !FILLER.has(w) || (idCard && w === 'id'));
}

export interface QueryTerm {
  /** The lexeme the question used (or its replacement when no visible passage uses it). */
  lexeme: string;
  /** Ways a passage may contain the term: each a list of lexemes that must all appear (a phrase). */
  alts: string[][];
  /**
   * Inverse document frequency among the passages the asker may see (BM25 form); 0 for a word no visible passage
   * uses in any of its forms: a word the corpus never uses carries no evidence for or against a passage.
   */
  idf: number;
  /** Some visible passage uses the term (in one of its forms). */
  seen: boolean;
  /** The question's word or phrase this term came from. */
  text: string;
  /** The weight of a word only one visible passage uses (the rarest possible): what an unknown word may be worth. */
  rareIdf?: number;
  /**
   * The asker's word (or phrase) is one no visible passage uses; `alts` are the back-off lexicon's words for it that
   * some visible passage does use (lexicon.ts), and `idf` is theirs at BACKOFF_WEIGHT.
   */
  backoff?: boolean;
}

/**
 * Share of its rarity weight a term keeps when it is found only through the back-off lexicon's words: like a
 * synonym in sentence choice (0.7), a guess at the documents' word counts less than the asker's own word.
 */
export const BACKOFF_WEIGHT = 0.7;
/** Most back-off alternatives per question word or phrase (the lexicon's first, in its order of preference). */
export const MAX_BACKOFF_ALTS = 6;
/** Most question words or phrases backed off per question. */
export const MAX_BACKOFF_TERMS = 6;

const MAX_WORDS = 32;

const LEXEME = /^[\p{L}\p{N}_]+$/u;

/**
 * Lexemes of a `phraseto_tsquery` text in order, a stop word between two of them kept as '' ("leave of absence" →
 * 'leav', '', 'absenc'), so the phrase still matches with the gap the stop word leaves in a passage.
 */
export function phraseLexemes(tsquery: string): string[] {
  const out: string[] = [];
  for (const m of tsquery.matchAll(/'((?:[^']|'')+)'|<(\d+)>/g)) {
    if (m[2] !== undefined) {
      if (out.length) for (let i = 1; i < Math.min(Number(m[2]), 4); i++) out.push('');
    } else {
      const l = m[1]!.replace(/''/g, "'");
      if (LEXEME.test(l)) out.push(l);
    }
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

/** One alternative as tsquery text: `'unit' <-> 'kingdom'`, `'leav' <2> 'absenc'`. */
function phraseQuery(a: readonly string[]): string {
  let text = '';
  let gap = 1;
  for (const l of a) {
    if (!l) {
      gap++;
      continue;
    }
    text += text ? ` <${gap === 1 ? '-' : gap}> '${l}'` : `'${l}'`;
    gap = 1;
  }
  return text;
}

/** The tsquery text of one term: `'vpn'` or `('fli' | 'flight')` or `('uk' | 'unit' <-> 'kingdom')`. */
export function termQuery(t: QueryTerm): string {
  const parts = t.alts.map(phraseQuery);
  return parts.length === 1 && t.alts[0]!.length === 1 ? parts[0]! : `(${parts.join(' | ')})`;
}

export function tsqueryOf(terms: readonly QueryTerm[], op: '&' | '|'): string {
  return terms.map(termQuery).join(` ${op} `);
}

/** Every lexeme a term may match (for the per-passage "which terms are present" check). */
export function allLexemes(terms: readonly QueryTerm[]): string[] {
  return [...new Set(terms.flatMap((t) => t.alts.flat()).filter(Boolean))];
}

/** True when a passage containing `present` lexemes contains the term (some alternative wholly present). */
export function termPresent(t: QueryTerm, present: ReadonlySet<string>): boolean {
  return t.alts.some((a) => a.every((l) => !l || present.has(l)));
}

/** Stems the question, adds alternatives, and weighs each term by rarity among passages visible to `principals`. */
export async function analyzeQuery(db: Db, assistant: string, principals: readonly string[], query: string): Promise<QueryTerm[]> {
  // A pasted page is not a question: its first words are what it is about, and they bound the cost.
  const words = queryWords(query).slice(0, MAX_WORDS);
  if (!words.length) return [];
  // Thesaurus phrases ("time off", "sign in") are one term; every term brings the other ways of saying it.
  const segs = segments(words).map((g) => ({ text: g.text, alts: [...new Set([...(SYNONYMS[g.text] ?? []), ...g.alts])] }));
  const phrases = [...new Set(segs.flatMap((g) => [g.text, ...g.alts]))];
  // phraseto_tsquery keeps word order (for "united kingdom"); its text is parsed back into lexemes here.
  const stemmed = await db.query<{ p: string; q: string }>(`SELECT p, phraseto_tsquery('english', p)::text AS q FROM unnest($1::text[]) AS p`, [phrases]);
  const lexemesOf = new Map(
    stemmed.map((r) => [r.p, phraseLexemes(r.q)]),
  );
  const terms: { lexeme: string; text: string; alts: string[][] }[] = [];
  for (const g of segs) {
    const main = lexemesOf.get(g.text)?.filter(Boolean) ?? [];
    // A stop word (or a single word PostgreSQL splits): nothing to search for.
    if (!main.length || (main.length > 1 && !g.text.includes(' '))) continue;
    // An alternative phrase whose other words are stop words ("time off" → 'time', "set up" → 'set') would match
    // any passage using that everyday word: it is left out (the question's own words are always kept).
    const alts = [lexemesOf.get(g.text)!, ...g.alts.filter((a) => !(a.includes(' ') && (lexemesOf.get(a) ?? []).filter(Boolean).length < 2)).map((a) => lexemesOf.get(a) ?? []).filter((a) => a.some(Boolean))];
    const lexeme = main.join(' ');
    const same = terms.find((t) => t.lexeme === lexeme);
    if (same) {
      for (const a of alts) if (!same.alts.some((b) => b.join(' ') === a.join(' '))) same.alts.push(a);
    } else terms.push({ lexeme, text: g.text, alts });
  }
  if (!terms.length) return [];

  // Frequencies count only passages the asker may see: hidden documents must not change how a question is read.
  const stats = await db.query<{ lexeme: string | null; df: number | string | null; n: number | string | null }>(
    `SELECT l.lexeme,
            (SELECT sum(t.df) FROM kb_terms t WHERE t.assistant = $1 AND t.lexeme = l.lexeme AND t.access && $3::text[]) AS df,
            (SELECT sum(s.chunks) FROM kb_term_sets s WHERE s.assistant = $1 AND s.access && $3::text[]) AS n
       FROM unnest($2::text[]) AS l(lexeme)`,
    [assistant, allLexemes(terms.map((t) => ({ ...t, idf: 0, seen: true }))), principals],
  );
  const df = new Map(stats.map((r) => [r.lexeme ?? '', Number(r.df ?? 0)]));
  const n = Number(stats[0]?.n ?? 0);
  const idf = (d: number) => Math.log(1 + (n - Math.min(d, n) + 0.5) / (Math.min(d, n) + 0.5));
  // A phrase is about as frequent as its rarest word; a term the passages never use as written is as frequent as
  // its most frequent other way of being said.
  const termDf = (alts: string[][]) => Math.max(0, ...alts.map((a) => Math.min(...a.filter(Boolean).map((l) => df.get(l) ?? 0))));

  const out: QueryTerm[] = [];
  const push = (t: { lexeme: string; text: string; alts: string[][] }, d: number, backoff = false) => {
    if (out.some((o) => o.lexeme === t.lexeme)) return;
    const weight = (isLightWord(t.text) ? LIGHT_WEIGHT : 1) * (backoff ? BACKOFF_WEIGHT : 1);
    out.push({ lexeme: t.lexeme, alts: t.alts, text: t.text, idf: d > 0 || n === 0 ? idf(d) * weight : 0, seen: d > 0 || n === 0, rareIdf: idf(1), ...(backoff ? { backoff: true } : {}) });
  };
  // What the corpus lacks in the asker's words, said in the documents' words (only where the asker's words fail).
  const backoff = n > 0 ? await backoffTerms(db, assistant, principals, words, terms, (alts) => termDf(alts) > 0) : null;
  for (const t of terms) {
    // A word of an idiom the passages never use ("passed away") is read as the idiom (below), not on its own.
    if (backoff?.consumed.has(t.text)) continue;
    // A term is as rare as the asker's own word when the passages use it: its other ways of being said find more
    // passages but do not make the asked-for word a common one (a broad synonym would otherwise drown it).
    const own = termDf([t.alts[0]!]);
    const d = own > 0 ? own : termDf(t.alts);
    if (d > 0 || n === 0) {
      push(t, d);
      continue;
    }
    const lex = backoff?.words.get(t.text);
    if (lex) {
      push({ lexeme: t.lexeme, text: t.text, alts: lex.alts }, lex.df, true);
      continue;
    }
    const alt = await closestLexeme(db, assistant, principals, t.lexeme, isEnglishWord(t.text));
    // Two words written as one ("payday") are found only written as those two words, side by side ("pay day"): their
    // halves alone ("clipboard" → clip, board) would match passages about something else.
    if (alt?.length === 2) push({ lexeme: `${alt[0]!.lexeme} ${alt[1]!.lexeme}`, text: t.text, alts: [[alt[0]!.lexeme, alt[1]!.lexeme]] }, Math.min(alt[0]!.df, alt[1]!.df));
    else if (alt) for (const a of alt) push({ lexeme: a.lexeme, text: t.text, alts: [[a.lexeme]] }, a.df);
    else push(t, 0);
  }
  for (const p of backoff?.phrases ?? []) push(p, p.df, true);
  return out;
}

interface BackoffTerm {
  lexeme: string;
  text: string;
  alts: string[][];
  df: number;
}

/**
 * The back-off lexicon's reading of the question: for each word no visible passage uses (`terms` whose lexemes have
 * no visible frequency), and for each lexicon phrase of the question that no visible passage holds as a phrase
 * ("passed away", "locked out"), the lexicon's words that visible passages do use, as that term's alternatives.
 * A phrase read this way takes the place of its words (`consumed`), seen or not: its words alone mean something else
 * ("passed", "away"). Bounded: MAX_BACKOFF_ALTS per word, MAX_BACKOFF_TERMS per question, three queries at most,
 * each counting only passages the asker may see.
 */
async function backoffTerms(
  db: Db,
  assistant: string,
  principals: readonly string[],
  words: readonly string[],
  terms: readonly { lexeme: string; text: string; alts: string[][] }[],
  used: (alts: string[][]) => boolean,
): Promise<{ words: Map<string, BackoffTerm>; phrases: BackoffTerm[]; consumed: Set<string> } | null> {
  const unseen = terms.filter((t) => !used(t.alts) && backoffOf(t.text).length).map((t) => t.text);
  // A phrase is read through the lexicon only when its words alone do not say it: one of them is unknown here, or it
  // is an idiom built on a particle or an everyday verb ("passed away", "locked out", "threw up"). A phrase of known
  // content words ("health insurance") is left to its words.
  const termOf = new Map(terms.map((t) => [t.text, t]));
  const idiom = (w: string) => {
    const t = termOf.get(w);
    return isParticle(w) || isLightWord(w) || (t !== undefined && !used(t.alts));
  };
  const spans = lexiconSpans(words).filter((s) => s.end - s.start > 1 && !termOf.has(s.text) && words.slice(s.start, s.end).some(idiom));
  if (!unseen.length && !spans.length) return null;
  const wanted = [...new Set([...unseen, ...spans.map((s) => s.text)])].slice(0, MAX_BACKOFF_TERMS);
  const targets = [...new Set(wanted.flatMap((w) => backoffWithSynonyms(w)))];
  // Phrases the passages hold as written are the asker's own words: no back-off for them. The index finds passages
  // with the phrase's content words in order (it keeps no stop words: "passed on" is 'pass', which "a day pass" has
  // too); the text of those alone is then read for the words as written.
  const phraseTexts = spans.map((s) => s.text).filter((p) => wanted.includes(p));
  const held = new Set(
    phraseTexts.length
      ? (
          await db.query<{ p: string }>(
            `SELECT p FROM unnest($3::text[], $4::text[]) AS x(p, re)
              WHERE numnode(phraseto_tsquery('english', p)) > 0
                AND EXISTS (SELECT 1 FROM kb_chunks k WHERE k.assistant = $1 AND k.access && $2::text[]
                               AND k.tsv @@ phraseto_tsquery('english', p) AND k.body ~* re)`,
            // Question words are letters and digits only (queryWords): safe inside a pattern.
            [assistant, principals, phraseTexts, phraseTexts.map((p) => `\\m${p.split(' ').join('\\W+')}\\M`)],
          )
        ).map((r) => r.p)
      : [],
  );
  const stemmed = await db.query<{ p: string; q: string }>(`SELECT p, phraseto_tsquery('english', p)::text AS q FROM unnest($1::text[]) AS p`, [targets]);
  const lexemesOf = new Map(stemmed.map((r) => [r.p, phraseLexemes(r.q)]));
  // A target phrase that keeps one word ("time off" → 'time') would match any passage using that everyday word.
  const altOf = (t: string) => {
    const a = lexemesOf.get(t) ?? [];
    return a.filter(Boolean).length && !(t.includes(' ') && a.filter(Boolean).length < 2) ? a : null;
  };
  const lexemes = [...new Set(targets.flatMap((t) => altOf(t) ?? []).filter(Boolean))];
  const rows = lexemes.length
    ? await db.query<{ lexeme: string; df: number | string | null }>(
        `SELECT l.lexeme, (SELECT sum(t.df) FROM kb_terms t WHERE t.assistant = $1 AND t.lexeme = l.lexeme AND t.access && $3::text[]) AS df
           FROM unnest($2::text[]) AS l(lexeme)`,
        [assistant, lexemes, principals],
      )
    : [];
  const df = new Map(rows.map((r) => [r.lexeme, Number(r.df ?? 0)]));
  // The question's own known words: an alternative that is one of them adds nothing (it would count twice).
  // (Words of the idioms read here do not count: the idiom takes their place.)
  const spanWords = new Set(spans.flatMap((sp) => words.slice(sp.start, sp.end)));
  const known = new Set(terms.filter((t) => used(t.alts) && !spanWords.has(t.text)).flatMap((t) => t.alts.map((a) => a.join(' '))));
  const read = (text: string): BackoffTerm | null => {
    const alts: string[][] = [];
    let most = 0;
    for (const t of backoffWithSynonyms(text)) {
      const a = altOf(t);
      if (!a || known.has(a.join(' ')) || alts.some((b) => b.join(' ') === a.join(' '))) continue;
      const d = Math.min(...a.filter(Boolean).map((l) => df.get(l) ?? 0));
      if (d <= 0) continue;
      alts.push(a);
      // As rare as the lexicon's first word for it that the passages use (its most specific; a broad later one,
      // "family member", would make the asker's word look common).
      if (!most) most = d;
      if (alts.length >= MAX_BACKOFF_ALTS) break;
    }
    return alts.length ? { lexeme: `~${text}`, text, alts, df: most } : null;
  };
  const out = { words: new Map<string, BackoffTerm>(), phrases: [] as BackoffTerm[], consumed: new Set<string>() };
  for (const w of unseen) {
    if (!wanted.includes(w)) continue;
    const r = read(w);
    if (r) out.words.set(w, r);
  }
  const inside = new Set<number>();
  for (const s of spans) {
    if (!wanted.includes(s.text) || held.has(s.text)) continue;
    const r = read(s.text);
    if (!r) continue;
    out.phrases.push(r);
    // A word the idiom's own readings repeat keeps its meaning in it ("out sick" → sick leave): it is still searched
    // as itself. Only the others ("passed" in "passed away", the particle) give way to the idiom.
    const said = new Set(s.targets.flatMap((t) => t.split(' ')));
    for (let i = s.start; i < s.end; i++) if (!keepsMeaning(words[i]!, said)) inside.add(i);
  }
  // A word the question uses only inside such phrases goes with them.
  for (const [i, w] of words.entries()) if (inside.has(i) && words.every((x, j) => x !== w || inside.has(j))) out.consumed.add(w);
  return out;
}

/** True when `word` (or a form of it: "sick" in "sickness") is among `said`, the words of an idiom's readings. */
function keepsMeaning(word: string, said: ReadonlySet<string>): boolean {
  if (word.length < 3 || isParticle(word)) return false;
  if (said.has(word)) return true;
  const root = word.slice(0, Math.max(3, word.length - 2));
  for (const w of said) if (w.length >= root.length && w.startsWith(root) && w.length <= word.length + 4) return true;
  return false;
}

/** True when `a` is `b` with two neighbouring letters swapped. */
function isTransposition(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const diff: number[] = [];
  for (let i = 0; i < a.length && diff.length <= 2; i++) if (a[i] !== b[i]) diff.push(i);
  return diff.length === 2 && diff[1] === diff[0]! + 1 && a[diff[0]!] === b[diff[1]!] && a[diff[1]!] === b[diff[0]!];
}

/**
 * A word the passages never use may still be meant: another form ("crypto" → "cryptocurrency", "broke" →
 * "broken"), a negation ("unreleased" → "released"), a typo ("pasword"), or two words written as one ("payday" →
 * "pay" + "day"). Picks the most frequent candidate among visible passages.
 */
async function closestLexeme(db: Db, assistant: string, principals: readonly string[], lexeme: string, realWord: boolean): Promise<{ lexeme: string; df: number }[] | null> {
  if (lexeme.length < 4 || !/^[\p{L}\p{N}]+$/u.test(lexeme)) return null;
  const base = /^(un|non)(.{4,})$/.exec(lexeme)?.[2] ?? null;
  const halves: string[] = [];
  for (let i = 3; i <= lexeme.length - 3; i++) halves.push(lexeme.slice(0, i), lexeme.slice(i));
  const rows = await db.query<{ lexeme: string; df: number }>(
    `SELECT lexeme, sum(df)::int AS df FROM kb_terms
      WHERE assistant = $1 AND access && $4::text[] AND (lexeme LIKE $2 OR lexeme = $3 OR lexeme = ANY($5::text[]))
      GROUP BY lexeme ORDER BY 2 DESC, lexeme LIMIT 500`,
    [assistant, lexeme.slice(0, 2) + '%', base, principals, halves],
  );
  const one = (r: { lexeme: string; df: number } | undefined) => (r ? [{ lexeme: r.lexeme, df: Number(r.df) }] : null);
  const longer = rows.find((r) => r.lexeme.startsWith(lexeme) && r.lexeme.length <= lexeme.length + 6);
  if (longer) return one(longer);
  if (base) {
    const negated = rows.find((r) => r.lexeme === base);
    if (negated) return one(negated);
  }
  const max = lexeme.length >= 8 ? 2 : 1;
  // A real word is what the asker meant, not a typo of a word the passages use ("wife" is not "wipe").
  // A short word one letter off another ("click" / "clock") is as likely a different word as a typo: short words
  // are repaired only by a letter left out, doubled or swapped, the commonest slips.
  const typo = realWord ? undefined : rows.find((r) => Math.abs(r.lexeme.length - lexeme.length) <= max && editDistance(r.lexeme, lexeme, max) <= max && (lexeme.length >= 7 || r.lexeme.length !== lexeme.length || isTransposition(r.lexeme, lexeme)));
  if (typo) return one(typo);
  const known = new Map(rows.map((r) => [r.lexeme, Number(r.df)]));
  for (let i = 3; i <= lexeme.length - 3; i++) {
    const a = lexeme.slice(0, i);
    const b = lexeme.slice(i);
    if (known.has(a) && known.has(b)) return [{ lexeme: a, df: known.get(a)! }, { lexeme: b, df: known.get(b)! }];
  }
  return null;
}
