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

export function smallTalkOf(input: string): SmallTalk | null {
  const t = normalizeQuestion(input).replace(/[?]+$/, '').trim();
  for (const [kind, re] of SMALL_TALK) if (re.test(t)) return kind;
  return null;
}

/** The asker talks about themselves ("where do I park", "who do I call"): rarely a question about someone else. */
export const FIRST_PERSON = /\b(i|i'm|im|my|me|we|our|us)\b/;

/** "Maya's email": a possessive on a word that can be a name (not "there's", "what's", "it's"). */
function possessive(t: string): boolean {
  for (const m of t.matchAll(/\b([\p{L}-]+)'s\b/gu)) {
    if (!/^(there|here|what|who|that|it|let|where|how|when|today|acme|company|someone|somebody|everyone|one)$/.test(m[1]!)) return true;
  }
  return /\b[\p{L}]+s' /u.test(t);
}

const PRONOUN = /\b(he|she|him|his|her|hers|they|them|their|theirs|this person|that person|the same person)\b/;

/** People-question wording, or null when the question does not read as one. */
export function peopleCueOf(input: string): PeopleCue | null {
  const t = normalizeQuestion(input).replace(/[?!.]+$/, '');
  const pronoun = PRONOUN.test(t);
  const fields: Field[] = [];
  if (/\b(e-?mails?|mail address|email address)\b/.test(t)) fields.push('email');
  if (/\b(phone|telephone|mobile|cell|call|ring|extension|phone number)\b/.test(t) || /'s number\b|\bnumber (of|for)\b/.test(t)) fields.push('phone');
  if (/\b(job title|title|role|position|job)\b/.test(t) || /\bwhat does .+ do( for a living| here| at acme)?$/.test(t)) fields.push('title');
  if (/\b(department|dept|division|which team|what team|which org|what org|which group|what group)\b/.test(t) || /\bteam (is|does) .+ (in|on|part of)\b/.test(t)) fields.push('department');
  if (/\b(where|located|location|based|which office|what office|which city|what city|which site|sit|sits)\b/.test(t)) fields.push('location');

  let intent: PeopleIntent | null = null;
  let strong = false;
  if (/\bwho\b.*\breports? (directly )?(in)?to \S/.test(t) || /\b(direct reports|reportees|team members|who works (for|under)|works (for|under)|people (under|managed by)|on .+'s team|in .+'s team|'s (direct )?reports|'s team|reports of|team of)\b/.test(t) || /\bwho does .+ manage\b/.test(t) || /\b(does|do) .+ have (any )?(direct )?reports\b/.test(t)) {
    intent = 'reports';
    strong = true;
  } else if (/\breports? to$/.test(t) || /\b(report|reports|reporting) (directly )?(in)?to\b/.test(t) || /\b(manager|boss|supervisor|line manager|managed by|reporting line)\b/.test(t)) {
    intent = 'manager';
    strong = true;
  } else if (/\bwho (manages|oversees|runs|leads|heads)\b/.test(t)) {
    intent = 'manages';
    strong = true;
  } else if (/\b(leads?|heads?|runs|oversees|in charge of|responsible for|leader|head of|director of|vp of|chief|lead of|leadership of)\b/.test(t) && /\bwho\b|\bhead of\b|\bleader\b/.test(t)) {
    intent = 'head';
  } else if (fields.length) {
    intent = 'fields';
    strong = possessive(t) || (/\b(of|for)\b/.test(t) && !FIRST_PERSON.test(t));
  } else if (/^(who is|who's|whos|who are|who was|tell me about|look up|lookup|info on|information (on|about)|what do (you|we) know about|find|search for|contact (details|info) (for|of))\b/.test(t) || /\bcontact (details|info)\b/.test(t)) {
    intent = 'profile';
    strong = /^(who is|who's|whos|tell me about|look up|lookup)\b/.test(t);
  }
  if (!intent) return null;
  return { intent, fields, pronoun, strong };
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
  reach ping message write send s t re ve ll d m yes no ok okay sure right so then well which one`.split(/\s+/),
);

export interface NameSpan {
  /** The words as typed (possessive removed), e.g. "Maya Chen". */
  text: string;
  /** True when the span is a whole run of non-stop words (not cut out of a longer run). */
  whole: boolean;
}

/** Stretches of the question that may name a person, longest first; emails are spans of their own. */
export function nameSpans(input: string): NameSpan[] {
  const emails = input.match(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g) ?? [];
  const rest = input.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, ' , ');
  const tokens = rest
    .replace(/[’‘`]/g, "'")
    .split(/([^\p{L}\p{M}\p{N}'-]+)/u)
    .map((t) => t.replace(/'s$|'$/i, '').replace(/^'+|'+$/g, ''));
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
  for (const run of runs) {
    out.push({ text: run.join(' '), whole: true });
    if (run.length > 1) {
      for (let len = Math.min(run.length - 1, 3); len >= 1; len--) {
        for (let i = 0; i + len <= run.length; i++) out.push({ text: run.slice(i, i + len).join(' '), whole: false });
      }
    }
  }
  return out;
}
