/**
 * Decides what kind of question this is (small talk, people, knowledge) from its wording alone, and finds the
 * stretches of the question that may be a person's name. Names are confirmed against the directory later.
 */

export type SmallTalk = 'greeting' | 'thanks' | 'help' | 'bye';
export type Field = 'email' | 'phone' | 'title' | 'department' | 'location';
export type PeopleIntent = 'manager' | 'reports' | 'head' | 'manages' | 'profile' | 'fields';

export interface PeopleCue {
  intent: PeopleIntent;
  fields: Field[];
  /** Mentions he/she/his/her/they/them/their (a follow-up about the last person). */
  pronoun: boolean;
  /** Wording that is unmistakably about a person ("X's email", "who does X report to", "who is X"). */
  strong: boolean;
  /** Asks how to reach someone: reach, contact, get hold of, call, email, phone. */
  contact?: boolean;
  /** Asks who leads something: runs, heads, in charge of, over, manages. */
  lead?: boolean;
  /** Asks for a person by what they do ("who …", "someone in …", "the person who …") or how to reach them. */
  describes?: boolean;
  /**
   * Only a hint that a person may be meant (a "who" question, a capitalised word): answered from the directory
   * only when the directory knows the name or the role well, otherwise the question goes to the knowledge base.
   */
  weak?: boolean;
}

const SMALL_TALK: [SmallTalk, RegExp][] = [
  ['greeting', /^(hi|hello|hey|hiya|howdy|yo|greetings|good (morning|afternoon|evening|day))( there| parley| assistant| team| all)?[\s!.,:)]*$/],
  ['thanks', /^((many )?thanks|thank you|thx|ty|cheers|great|perfect|awesome|nice|cool|ok|okay|got it|that helps|that'?s (great|perfect|helpful|all))( (so|very) much| a lot| again| for (the|your) help)?[\s!.,:)]*$/],
  ['help', /^(help|help me|what can you do|what do you do|who are you|what are you|how do(es)? (you|this) work|what can i ask( you)?|what (kind of|sort of)? ?(questions|things) can (i|you) (ask|answer|help with)|how can you help( me)?|what are you able to do)[\s?!.]*$/],
  ['bye', /^(bye|goodbye|see you|see ya|later|good night)[\s!.]*$/],
];

/** Lower-cases and straightens quotes; keeps word characters, apostrophes and @ . - for emails. */
export function normalizeQuestion(s: string): string {
  return s
    .toLowerCase()
    .replace(/[’‘`]/g, "'")
    .replace(/[“”]/g, '"')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The text without trailing characters of `chars`. A loop, not /[?!.]+$/: that regex retries from every character
 * of a long run that is not at the end ("?" × 30 000 then a word), which is quadratic.
 */
export function trimEnd(s: string, chars = '?!. '): string {
  let end = s.length;
  while (end > 0 && chars.includes(s[end - 1]!)) end--;
  return s.slice(0, end);
}

/** A greeting or courtesy in front of a real question ("Hi, how do I…", "hey there - who is…"). */
const LEADING_COURTESY =
  /^(?:(?:hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day))(?: there| parley| assistant| team| all)?|please|quick question|question)[\s!.,:;\-–—]+(?=\S)/i;

/** The question without a leading greeting, so "Hi, what can you do?" routes like "what can you do?". */
export function withoutGreeting(input: string): string {
  let t = input.trim();
  for (let i = 0; i < 3; i++) {
    const m = LEADING_COURTESY.exec(t);
    if (!m) break;
    t = t.slice(m[0].length).trim();
  }
  return t || input.trim();
}

/** Small talk is a few words; anything longer is a question (and is not scanned). */
const SMALL_TALK_MAX = 120;

export function smallTalkOf(input: string): SmallTalk | null {
  if (input.length > SMALL_TALK_MAX) return null;
  const t = trimEnd(normalizeQuestion(input), '? ');
  for (const [kind, re] of SMALL_TALK) if (re.test(t)) return kind;
  return null;
}

/** The asker talks about themselves ("where do I park", "who do I call"): rarely a question about someone else. */
export const FIRST_PERSON = /\b(i|i'm|im|my|me|we|our|us)\b/;

/**
 * The question's words, lower-case, apostrophes kept inside words ("maya's", "who's"), as " w1 w2 … " so that
 * phrases are found with `includes(' direct reports ')`: every test below is a linear scan.
 */
function wordLine(input: string): { line: string; words: string[] } {
  const words = normalizeQuestion(input).match(/[\p{L}\p{N}@.+_-]+(?:'[\p{L}]*)?/gu) ?? [];
  const cleaned = words.map((w) => w.replace(/^[.\-_]+|[.\-_]+$/g, '')).filter(Boolean);
  return { line: ` ${cleaned.join(' ')} `, words: cleaned };
}

const any = (line: string, phrases: readonly string[]) => phrases.some((p) => line.includes(` ${p} `));

/** "Maya's email": a possessive on a word that can be a name (not "there's", "what's", "it's"). */
const NOT_POSSESSIVE = new Set(['there', 'here', 'what', 'who', 'that', 'it', 'let', 'where', 'how', 'when', 'today', 'company', 'someone', 'somebody', 'everyone', 'one']);
function possessive(words: readonly string[]): boolean {
  return words.some(possessiveWord);
}

/** One word that is a possessive ("maya's", "the managers'"). */
function possessiveWord(w: string): boolean {
  return (w.endsWith("'s") && w.length > 2 && !NOT_POSSESSIVE.has(w.slice(0, -2))) || (w.length > 2 && w.endsWith("s'"));
}

const PRONOUNS = ['he', 'she', 'him', 'his', 'her', 'hers', 'they', 'them', 'their', 'theirs', 'this person', 'that person', 'the same person'];
/** Verbs of reaching someone; the field words (email, phone, number) are fields, not a request for a person. */
const CONTACT = ['reach', 'contact', 'get hold of', 'get a hold of', 'get ahold of', 'get in touch', 'talk to', 'speak to', 'speak with', 'talk with', 'ring', 'message', 'ping'];
const LEAD_VERBS = ['runs', 'run', 'running', 'leads', 'heads', 'heads up', 'manages', 'oversees', 'supervises', 'directs', 'in charge', 'responsible for', 'head of', 'leader of', 'director of', 'boss of', 'lead of', 'leadership of', 'looks after', 'look after', 'most senior', 'senior-most', 'highest-ranking', 'highest ranking'];
/**
 * "Who handles / deals with / takes care of / is responsible for X": whoever's job X is, found by role like "who runs
 * X". Only right after "who", where the verb is the question's own ("how do I handle a complaint" is not).
 */
const RESPONSIBLE_FOR = /\bwho(?:'s| is| are)?(?: (?:usually|normally|actually|generally|currently|now|mainly))? (?:handles?|deals? with|takes? care of|looks? after|sorts? out|(?:is |are )?responsible for)\b/;
/** "Who's over housekeeping?", "who is at the top of finance": "over" and "top" lead only right after "who is". */
const WHO_IS_OVER = /\b(?:who|whom|who's|whos)(?: is| are| was)? (?:in charge )?(?:over|(?:at )?(?:the )?top(?: of)?)\b/;
const ASKS_FOR_PERSON = ['who', 'whom', "who's", 'whos', 'whoever', 'someone', 'somebody', 'anyone', 'anybody', 'person', 'people', 'staff', 'colleague'];
/** "Someone told me…", "people say…": the word is the teller of a story, not the person asked for. */
const REPORTED = new Set(['told', 'said', 'says', 'say', 'tells', 'reckons', 'reckoned', 'mentioned', 'thinks', 'thought', 'heard', 'claims', 'claimed', 'swears', 'keeps']);

/** Words asking for a person, not counting one who only tells the story ("someone said nursing can't…"). Linear. */
function asksForPerson(words: readonly string[]): boolean {
  for (let i = 0; i < words.length; i++) {
    if (!ASKS_FOR_PERSON.includes(words[i]!)) continue;
    if (!REPORTED.has(words[i + 1] ?? '')) return true;
  }
  return false;
}
const MANAGER_WORDS = ['manager', 'boss', 'supervisor', 'line manager', 'team leader', 'team lead', 'superior'];
/**
 * "X's team leader", "her line manager", "Ada's lead": a relation noun right after a possessive names X's manager
 * ("X's team" alone is X's team). Linear.
 */
const RELATION_NOUNS = new Set(['manager', 'boss', 'supervisor', 'superior', 'leader', 'lead']);
const RELATION_MODIFIERS = new Set(['direct', 'line', 'team', 'reporting', 'immediate']);
function relationAfterPossessive(words: readonly string[]): boolean {
  for (let i = 0; i + 1 < words.length; i++) {
    const w = words[i]!;
    const owner = ['his', 'her', 'their'].includes(w) || possessiveWord(w);
    if (!owner) continue;
    const next = RELATION_MODIFIERS.has(words[i + 1]!) ? words[i + 2] : words[i + 1];
    if (next && RELATION_NOUNS.has(next)) return true;
  }
  return false;
}

/** People-question wording, or null when the question does not read as one. Linear in the input. */
export function peopleCueOf(input: string): PeopleCue | null {
  const { line, words } = wordLine(input);
  const t = trimEnd(normalizeQuestion(input));
  const first = FIRST_PERSON.test(t);
  const pronoun = any(line, PRONOUNS);
  const fields: Field[] = [];
  if (any(line, ['email', 'emails', 'e-mail', 'mail address', 'email address'])) fields.push('email');
  if (any(line, ['phone', 'telephone', 'mobile', 'cell', 'call', 'ring', 'extension', 'ext', 'phone number', 'number for', 'number of', 'direct line']) || /'s number\b/.test(t) || words[0] === 'number') fields.push('phone');
  if (any(line, ['job title', 'title', 'role', 'position', 'job']) || (words[0] === 'what' && words[1] === 'does' && (words.at(-1) === 'do' || line.endsWith(' do for a living ')))) fields.push('title');
  if (any(line, ['department', 'dept', 'division', 'which team', 'what team', 'which org', 'what org', 'which group', 'what group', 'which unit', 'what unit'])) fields.push('department');
  if (any(line, ['where', 'located', 'location', 'based', 'which office', 'what office', 'which city', 'what city', 'which site', 'what site', 'which building', 'what building', 'sit', 'sits'])) fields.push('location');
  const contact = any(line, CONTACT);
  const asks = asksForPerson(words);
  const lead = (any(line, LEAD_VERBS) && (asks || words[0] === 'who')) || RESPONSIBLE_FOR.test(t) || WHO_IS_OVER.test(t);

  // "report(s) to X" (X's team) versus "does X report to" / "reports to?" (X's manager).
  let reportsToSomeone = false;
  let reportsTo = false;
  for (const p of [' report to ', ' reports to ', ' reporting to ', ' report directly to ', ' reports directly to ', ' report into ', ' reports into ']) {
    const at = line.indexOf(p);
    if (at < 0) continue;
    reportsTo = true;
    const after = line.slice(at + p.length).trim();
    if (after && !/^(now|currently|today|these days)$/.test(after)) reportsToSomeone = true;
  }
  const managerWord = any(line, MANAGER_WORDS) || relationAfterPossessive(words);
  // The manager word names a relation ("Maya's manager", "his boss", "manager of Ada"), not part of a title.
  const managerRelation = managerWord && (possessive(words) || pronoun || first || any(line, ['manager of', 'boss of', 'supervisor of', 'manager for', 'managed by', 'reporting line']));

  let intent: PeopleIntent | null = null;
  let strong = false;
  if (
    reportsToSomeone ||
    any(line, ['direct reports', 'reportees', 'team members', 'who works for', 'who works under', 'works for', 'works under', 'people under', 'people managed by', 'reports of', 'team of']) ||
    /'s (direct )?(reports|team)\b(?! (leader|lead|manager|boss|supervisor)s?\b)/.test(t) ||
    (words[0] === 'who' && words[1] === 'does' && words.at(-1) === 'manage') ||
    ((words[0] === 'does' || words[0] === 'do') && any(line, ['have reports', 'have any reports', 'have direct reports', 'have any direct reports']))
  ) {
    intent = 'reports';
    strong = true;
  } else if (reportsTo || any(line, ['reporting line']) || managerRelation) {
    intent = 'manager';
    // "Do I have to tell my manager?" is about the asker; only a named or described subject makes it certain.
    strong = reportsTo || possessive(words) || pronoun || any(line, ['manager of', 'boss of', 'supervisor of', 'manager for', 'managed by', 'reporting line']);
  } else if (words[0] === 'who' && ['manages', 'oversees', 'runs', 'leads', 'heads'].includes(words[1] ?? '')) {
    intent = 'manages';
    strong = true;
  } else if (lead) {
    intent = 'head';
  } else if (fields.length) {
    intent = 'fields';
    strong = possessive(words) || (any(line, ['of', 'for']) && !first);
  } else if (/^(who is|who's|whos|who are|who was|tell me about|look up|lookup|info on|information (on|about)|what do (you|we) know about|find|search for|contact (details|info) (for|of))\b/.test(t) || any(line, ['contact details', 'contact info'])) {
    intent = 'profile';
    strong = /^(who is|who's|whos|tell me about|look up|lookup)\b/.test(t);
  }
  const describes = contact || asks;
  if (intent) return { intent, fields, pronoun, strong, contact, lead: lead || intent === 'manages' || intent === 'head', describes, weak: false };
  // Contact wording, a "who" question or a capitalised word inside the sentence: maybe a person; the directory decides.
  if (describes || hasInnerCapital(input)) {
    return { intent: 'profile', fields, pronoun, strong: false, contact, lead: false, describes, weak: true };
  }
  return null;
}

/** Words after which a full stop does not end a sentence ("Dr. Oyama", "St. Mary's"). */
const NO_SENTENCE_END = new Set(['dr', 'mr', 'mrs', 'ms', 'mx', 'prof', 'st', 'no', 'vs', 'etc', 'approx', 'dept', 'ext', 'e.g', 'i.e']);
/** Words that may open the asking clause before "who" ("…, so who's the duty manager?"). */
const CLAUSE_OPENERS = new Set(['so', 'but', 'and', 'then', 'anyway', 'also', 'ok', 'okay', 'well', 'just', 'please', 'now']);
const WHO_WORDS = new Set(['who', 'whom', "who's", 'whos', "who're"]);

/**
 * The clause of a longer message that asks for a person: from a "who" that opens a sentence or a clause (after a
 * comma, semicolon, colon or dash) to the end of that sentence. "The boiler is leaking, who is the caretaker here?" →
 * "who is the caretaker here?"; "Who is the bursar? My invoice bounced" → "Who is the bursar?". The
 * whole input when no such clause is found, or when it is the whole input. Linear.
 */
export function askingClause(input: string): string {
  const text = input.replace(/[’‘`]/g, "'");
  const n = text.length;
  let clauseStart = 0;
  let found = -1;
  for (let i = 0; i <= n; i++) {
    const sentenceEnd = endsSentence(text, i);
    if (!sentenceEnd && !endsClause(text, i)) continue;
    if (found < 0) found = whoAt(text, clauseStart, i);
    if (found >= 0 && sentenceEnd) {
      // The sentence's closing punctuation ("??") goes with it.
      let end = i;
      while (end < n && /[?!.]/.test(text[end]!)) end++;
      const clause = text.slice(found, end).trim();
      return clause.length < input.trim().length ? clause : input;
    }
    clauseStart = i + 1;
  }
  return input;
}

/** Position `i` ends a sentence: "?", "!", a line break, the end, or a full stop before a space (not "Dr. ", "J. "). */
function endsSentence(text: string, i: number): boolean {
  if (i >= text.length) return true;
  const c = text[i]!;
  if (c === '?' || c === '!' || c === '\n') return true;
  if (c !== '.' || (i + 1 < text.length && !/\s/.test(text[i + 1]!))) return false;
  const before = wordBefore(text, i);
  return before.length > 1 && !NO_SENTENCE_END.has(before);
}

/** Position `i` ends a clause: a comma, semicolon or colon, or a dash between spaces. */
function endsClause(text: string, i: number): boolean {
  const c = text[i]!;
  if (c === ',' || c === ';' || c === ':') return true;
  return (c === '-' || c === '–' || c === '—') && /\s/.test(text[i - 1] ?? '') && /\s/.test(text[i + 1] ?? '');
}

/** The lower-cased word that ends right before position `at` (a few letters at most). */
function wordBefore(text: string, at: number): string {
  let a = at;
  while (a > 0 && at - a < 8 && /[\p{L}.]/u.test(text[a - 1]!)) a--;
  return text.slice(a, at).toLowerCase().replace(/^\.+/, '');
}

/** Where the clause text[from, to) starts with "who" (after at most two openers such as "so"), or -1. */
function whoAt(text: string, from: number, to: number): number {
  let i = from;
  for (let k = 0; k < 3; k++) {
    while (i < to && !/[\p{L}]/u.test(text[i]!)) i++;
    if (i >= to) return -1;
    const start = i;
    while (i < to && /[\p{L}']/u.test(text[i]!)) i++;
    const w = text.slice(start, i).toLowerCase();
    if (WHO_WORDS.has(w)) return start;
    if (!CLAUSE_OPENERS.has(w)) return -1;
  }
  return -1;
}

/** A capitalised word after the first word ("which site is Dana Ruiz at?"): a name, if the directory knows it. */
function hasInnerCapital(input: string): boolean {
  const m = input.trim().match(/\s\p{Lu}\p{Ll}/u);
  return m !== null;
}

// Words that are never part of a name in a question.
const NOT_NAME = new Set(
  `a an the and or but if of at by for with about against between into through to from in on off over under up down out
  is are was were be been being am do does did doing have has had having can could should would will shall may might must
  i me my mine myself we our ours us you your yours he him his she her hers they them their theirs it its this that these those
  who whom whose what which where when why how whats whos wheres hows there here please pls thanks thank hi hello hey
  tell show give find get look lookup search know let lets need want like info information details detail contact
  email emails e mail address phone number telephone mobile cell call ring extension title job role position
  department dept team division org group office location located based city site sit sits work works working
  report reports reporting reportees directly direct manager managers boss supervisor line managed manage manages
  lead leads leader head heads run runs oversee oversees charge responsible director vp chief of
  person people someone somebody anyone employee employees colleague coworker member members name named called
  same again also too just only all any some else other another new current currently now today acme company our
  reach ping message write send s t re ve ll d m yes no ok okay sure right so then well which one
  whoever whomever dr mr mrs ms mx prof sir madam overall whole entire besides except apart aside than hold touch`.split(/\s+/),
);

export interface NameSpan {
  /** The words as typed (possessive removed), e.g. "Maya Chen". */
  text: string;
  /** True when the span is a whole run of non-stop words (not cut out of a longer run). */
  whole: boolean;
  /**
   * Cut out of a run of capitalised words ("Center" out of "Software Center"): a product, place or team name, so the
   * part names a person only if the whole run does.
   */
  inProperNoun?: boolean;
}

/** Spans one question yields at most: names are a few words, and each span costs a directory lookup. */
const MAX_SPANS = 48;
const MAX_NAME_WORDS = 6;
const EMAIL = /^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$/;

/** Strips leading and trailing apostrophes (a loop: /'+$/ is quadratic on long runs). */
function stripQuotes(t: string): string {
  let a = 0;
  let b = t.length;
  while (a < b && t[a] === "'") a++;
  while (b > a && t[b - 1] === "'") b--;
  return t.slice(a, b);
}

/** Stretches of the question that may name a person, longest first; emails are spans of their own. Linear. */
export function nameSpans(input: string): NameSpan[] {
  // Emails: whitespace-separated tokens checked whole (an unanchored email regex retries from every character).
  const emails: string[] = [];
  let rest = input;
  if (input.includes('@')) {
    const parts = input.split(/(\s+)/);
    for (let i = 0; i < parts.length; i++) {
      if (!parts[i]!.includes('@')) continue;
      const bare = trimEnd(parts[i]!.replace(/^[<("'[]+/, ''), '>)"\'].,;:!?');
      if (EMAIL.test(bare)) {
        emails.push(bare);
        parts[i] = ' , ';
      }
    }
    rest = parts.join('');
  }
  const tokens = rest
    .replace(/[’‘`]/g, "'")
    .split(/([^\p{L}\p{M}\p{N}'-]+)/u)
    .map((t) => stripQuotes(t.endsWith("'s") || t.endsWith("'S") ? t.slice(0, -2) : t));
  const runs: string[][] = [];
  let cur: string[] = [];
  for (const tok of tokens) {
    if (!tok) continue;
    if (/^[^\p{L}\p{N}]+$/u.test(tok)) {
      // Separators: spaces keep a run going, punctuation ends it.
      if (/[^\s-]/.test(tok)) {
        if (cur.length) runs.push(cur);
        cur = [];
      }
      continue;
    }
    if (NOT_NAME.has(tok.toLowerCase()) || /^\d+$/.test(tok)) {
      if (cur.length) runs.push(cur);
      cur = [];
    } else cur.push(tok);
  }
  if (cur.length) runs.push(cur);
  const out: NameSpan[] = emails.map((e) => ({ text: e, whole: true }));
  // The same words twice are looked up once ("x. x. x." is one span, not thousands).
  const seen = new Set<string>();
  for (const run of runs) {
    if (out.length >= MAX_SPANS) break;
    const key = run.join(' ').toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    // A name is a few words: a longer run is only searched through its short stretches.
    if (run.length <= MAX_NAME_WORDS) out.push({ text: run.join(' '), whole: true });
    if (run.length > 1) {
      const proper = run.every((w) => /^\p{Lu}/u.test(w));
      for (let len = Math.min(run.length - 1, 3); len >= 1; len--) {
        for (let i = 0; i + len <= run.length && out.length < MAX_SPANS; i++) out.push({ text: run.slice(i, i + len).join(' '), whole: false, inProperNoun: proper });
      }
    }
  }
  return out.slice(0, MAX_SPANS);
}

/**
 * "Someone in payroll other than Dana Ruiz": the question without the excluded part, and the excluded words (a name
 * or role whose people must not be the answer).
 */
export function exclusionOf(input: string): { text: string; excluded: string | null } {
  const m = /\b(other than|besides|apart from|aside from|except for|except|excluding|but not|not counting)\s+/i.exec(input);
  if (!m) return { text: input, excluded: null };
  const after = input.slice(m.index + m[0].length);
  // The excluded words run to the next punctuation or the end.
  const stop = after.search(/[.,;!?]/);
  const excluded = (stop < 0 ? after : after.slice(0, stop)).trim();
  const text = input.slice(0, m.index) + ' ' + (stop < 0 ? '' : after.slice(stop));
  return { text: text.trim(), excluded: excluded || null };
}
