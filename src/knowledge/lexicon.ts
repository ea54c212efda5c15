/**
 * The back-off lexicon: everyday, informal and regional words and short phrases ("puked", "my nan", "locked out")
 * mapped to the plainer or more formal words workplace documents use (vomiting; grandparent, family member; account
 * lockout). Broad, unlike the curated thesaurus (thesaurus.ts), and so used only where the asker's own word fails:
 * retrieval consults it for a question word or phrase that no visible passage uses (query.ts), sentence choice for a
 * question word that no candidate sentence holds (extract.ts). A word the corpus already uses is never expanded by
 * it: broad alternatives for known words spread the hits over more articles, which reads as doubt.
 *
 * The data (lexicon-data.ts, about 185 KB of text, 9,258 keys) is parsed on first use into one map; keys are normalised the way
 * questions are (queryWords), so a key holding conversational filler that questions lose ("get paid") is dropped.
 */
import { LEXICON_TEXT } from './lexicon-data.ts';
import { isFiller, questionTokens } from './query.ts';
import { alternativesOf } from './thesaurus.ts';

/** Function words (PostgreSQL's english stop words, roughly): a key of nothing else says nothing. */
const FUNCTION = new Set(
  `i me my myself we our ours you your yours he him his she her hers it its they them their what which who whom this
  that these those am is are was were be been being have has had having do does did doing a an the and but if or
  because as until while of at by for with about against between into through during before after above below to
  from up down in out on off over under again further then once here there when where why how all any both each
  few more most other some such no nor not only own same so than too very s t can will don should now not`.split(/\s+/),
);

/** Longest key, in words. */
let maxPhrase = 1;
let index: Map<string, readonly string[]> | null = null;
/** Keys the normalisation dropped (they hold filler a question never keeps): for the data's own tests. */
let dropped: string[] = [];

function load(): Map<string, readonly string[]> {
  if (index) return index;
  const out = new Map<string, string[]>();
  const lost: string[] = [];
  for (const line of LEXICON_TEXT.split('\n')) {
    const at = line.indexOf('=');
    if (!line.trim() || line.startsWith('#') || at < 0) continue;
    const targets = line.slice(at + 1).split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
    for (const raw of line.slice(0, at).split(',')) {
      // Keys lose filler the way questions do ("work from home" → "from home"), so both meet in the same form.
      const all = questionTokens(raw.trim());
      const tokens = all.filter((w) => !isFiller(w));
      // A key left with function words only, or shrunk by its filler to less than two content words ("get paid" →
      // "paid", "can't get in the building" → "in the building"), would match the wrong questions.
      const content = tokens.filter((w) => !FUNCTION.has(w)).length;
      if (!content || (tokens.length < all.length && content < 2)) {
        lost.push(raw.trim());
        continue;
      }
      const key = tokens.join(' ');
      const own = new Set(tokens);
      const list = out.get(key) ?? [];
      // A target that is the key itself adds nothing (the key is what failed).
      for (const t of targets) if (t !== key && !own.has(t) && !list.includes(t)) list.push(t);
      if (list.length) out.set(key, list);
      maxPhrase = Math.max(maxPhrase, tokens.length);
    }
  }
  dropped = lost;
  index = out;
  return out;
}

/** Other forms a word may be the inflection of ("puking" → puke, "kicks" → kick, "dropped" → drop). */
function baseForms(word: string): string[] {
  const out: string[] = [];
  const add = (w: string) => {
    // Three-letter keys are mostly abbreviations ("wed" for Wednesday, "sat"): an inflected word is never read as one
    // ("wedded" is not "wed" + -ed here).
    if (w.length >= 4 && w !== word && !out.includes(w)) out.push(w);
  };
  if (word.endsWith('ies')) add(word.slice(0, -3) + 'y');
  if (word.endsWith('es')) add(word.slice(0, -2));
  if (word.endsWith('s') && !word.endsWith('ss')) add(word.slice(0, -1));
  for (const suffix of ['ed', 'ing']) {
    if (!word.endsWith(suffix)) continue;
    const stem = word.slice(0, -suffix.length);
    add(stem);
    add(stem + 'e');
    if (stem.length >= 3 && stem[stem.length - 1] === stem[stem.length - 2]) add(stem.slice(0, -1));
  }
  return out;
}

/** The documents' words for a lower-cased word or phrase (its first word may be inflected), or none. */
export function backoffOf(phrase: string): readonly string[] {
  const map = load();
  const exact = map.get(phrase);
  if (exact) return exact;
  const [first, ...rest] = phrase.split(' ');
  for (const base of baseForms(first!)) {
    const hit = map.get([base, ...rest].join(' '));
    if (hit) return hit;
  }
  return [];
}

/**
 * The documents' words for a word or phrase, each followed by the curated thesaurus's other ways of saying it
 * ("puking" → vomiting, …, illness, then sick, unwell, …): the lexicon names the plain word, the thesaurus knows how
 * policies write it. Duplicates removed, lexicon order kept.
 */
export function backoffWithSynonyms(phrase: string): string[] {
  const own = new Set(phrase.split(' '));
  const out: string[] = [];
  const targets = backoffOf(phrase);
  for (const t of targets) if (!out.includes(t)) out.push(t);
  for (const t of targets) for (const a of alternativesOf(t)) if (a !== phrase && !own.has(a) && !out.includes(a)) out.push(a);
  return out;
}

/** True when the lexicon knows the word (an everyday word the asker surely meant: never a typo to repair). */
export function isLexiconWord(word: string): boolean {
  return backoffOf(word).length > 0;
}

/** Adverb particles of phrasal verbs ("throw up", "lock out", "pass away"): a phrase holding one is an idiom. */
const PARTICLES = new Set(['up', 'down', 'out', 'off', 'away', 'over', 'in', 'on', 'back', 'through', 'around', 'about', 'along', 'under']);

/** True for an adverb particle ("up", "out", "away"): its phrase means more than its words. */
export function isParticle(word: string): boolean {
  return PARTICLES.has(word);
}

export interface LexiconSpan {
  /** Position of the first word in the question's words, and one past the last. */
  start: number;
  end: number;
  /** The words, joined by single spaces. */
  text: string;
  targets: readonly string[];
}

/**
 * The lexicon's words and phrases in a question's words (queryWords), longest first at each position; words not in
 * any are skipped. Linear in the number of words (phrases are a few words long).
 */
export function lexiconSpans(words: readonly string[]): LexiconSpan[] {
  load();
  const out: LexiconSpan[] = [];
  for (let i = 0; i < words.length; ) {
    let found: LexiconSpan | null = null;
    for (let n = Math.min(maxPhrase, words.length - i); n >= 1 && !found; n--) {
      const text = words.slice(i, i + n).join(' ');
      const targets = backoffOf(text);
      if (targets.length) found = { start: i, end: i + n, text, targets };
    }
    if (found) {
      out.push(found);
      i = found.end;
    } else i++;
  }
  return out;
}

/** Size of the lexicon: distinct keys, and keys left out because they hold question filler. */
export function lexiconStats(): { keys: number; dropped: readonly string[] } {
  return { keys: load().size, dropped };
}
