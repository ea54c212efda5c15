/**
 * Does a question ask the assistant to *do* something a plugin does, rather than ask about it? The question is
 * compared with each plugin's examples and with the titles and headings of the knowledge passages the asker may
 * see, by one measure (a weighted Dice overlap of stemmed words), and a plugin is chosen only when it is the
 * closer of the two. Function words count, lightly: they are what tells "reset my VPN password" (an action) from
 * "how do I reset my VPN password?" (an article).
 */
import { stem } from '../assistant/offline/stem.ts';
import type { KnowledgeHit } from '../knowledge/types.ts';
import type { PluginConfig } from './config.ts';

/** Words that shape a request rather than name its subject: they count a third of a content word. */
const LIGHT = new Set(
  `a an the my me i we our us you your yours please can could would will should shall do does did is are am be was
  were how what where when why who which whom whose to for of on in at by with from up out about some any this that
  these those there here just kindly want need like help let get`.split(/\s+/),
);
const LIGHT_WEIGHT = 0.35;

/** A plugin must come this close to one of its examples before it is considered at all. */
export const MIN_PLUGIN_SCORE = 0.6;
/** What a configured keyword found in the question adds. */
const KEYWORD_BONUS = 0.1;
/** Questions longer than this are pastes, never commands. */
const MAX_WORDS = 40;

/** Opening words of a question about something (an article's job) rather than a request to do it. */
const ASKING = new Set('how what where why when which who whom whose is are does do did should'.split(' '));
/** What an example's score keeps when the question asks about it but the example asks to do it. */
const ASKING_PENALTY = 0.7;
/** Openings that only make a request polite. */
const POLITE = new Set('hi hello hey please pls kindly ok okay so'.split(' '));
/** Possessives read alike: "reset my password" and a heading "reset your password" say the same. */
const POSSESSIVE = new Set(['my', 'your', 'our', 'mine', 'yours']);

type Bag = Map<string, number>;

function wordsOf(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/['’](s|re|ve|ll|d|m|t)\b/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .slice(0, MAX_WORDS + 1);
}

/**
 * A word bag. `fold` maps a content word to its comparison form: the full stem between a question and examples
 * (written to be alike), only the plural folded against article titles, whose gerunds name a topic ("Resetting
 * your VPN password") where a request says what to do ("reset my VPN password").
 */
function bagOf(text: string, fold: (w: string) => string = stem): Bag {
  const bag: Bag = new Map();
  for (const raw of wordsOf(text)) {
    const w = POSSESSIVE.has(raw) ? 'my' : raw;
    const light = LIGHT.has(w);
    bag.set(light ? w : fold(w), light ? LIGHT_WEIGHT : 1);
  }
  return bag;
}

const plural = (w: string) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w);

/** The text opens like a question about something ("how do I…", "what is…"). */
function isAsking(text: string): boolean {
  const first = wordsOf(text).find((w) => !POLITE.has(w));
  return first !== undefined && ASKING.has(first);
}

function weight(b: Bag): number {
  let n = 0;
  for (const v of b.values()) n += v;
  return n;
}

/** Weighted Dice overlap of two word bags: 1 for the same words, 0 for none in common. */
function similarity(a: Bag, b: Bag): number {
  let common = 0;
  for (const [w, v] of a) if (b.has(w)) common += v;
  const total = weight(a) + weight(b);
  return total === 0 ? 0 : (2 * common) / total;
}

/** Content words only (the subject of the request). */
function contentOf(b: Bag): string[] {
  return [...b].filter(([, v]) => v === 1).map(([w]) => w);
}

export interface PluginMatch {
  plugin: PluginConfig;
  score: number;
  /** The example it came closest to. */
  example: string;
}

/** The best plugin for a question, if any comes within MIN_PLUGIN_SCORE of one of its examples. */
export function bestPlugin(question: string, plugins: readonly PluginConfig[]): PluginMatch | null {
  const q = bagOf(question);
  if (q.size === 0 || q.size > MAX_WORDS) return null;
  const qContent = new Set(contentOf(q));
  const asking = isAsking(question);
  let best: PluginMatch | null = null;
  for (const plugin of plugins) {
    const keywords = plugin.when.keywords.map((k) => contentOf(bagOf(k)));
    const bonus = keywords.some((k) => k.length > 0 && k.every((w) => qContent.has(w))) ? KEYWORD_BONUS : 0;
    for (const example of plugin.when.examples) {
      const e = bagOf(example);
      // The content words of the example must be asked for — all of a short one, all but one in four of a longer
      // one: "reset my password" is not "reset my VPN password".
      const content = contentOf(e);
      const missing = content.filter((w) => !qContent.has(w)).length;
      if (content.length === 0 || missing > Math.floor(content.length / 4)) continue;
      const score = Math.min(1, similarity(q, e) + bonus) * (asking && !isAsking(example) ? ASKING_PENALTY : 1);
      if (score >= MIN_PLUGIN_SCORE && (!best || score > best.score)) best = { plugin, score, example };
    }
  }
  return best;
}

/** How close the question comes to the titles and headings of the passages found for it (same measure). */
export function knowledgeScore(question: string, hits: readonly KnowledgeHit[]): number {
  const q = bagOf(question, plural);
  let best = 0;
  for (const h of hits.slice(0, 5)) {
    for (const text of [h.title, h.heading]) if (text) best = Math.max(best, similarity(q, bagOf(text, plural)));
  }
  return best;
}
