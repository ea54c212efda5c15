/** People questions: find who is meant (name, role, department, or the person of the previous answer) and answer. */
import type { HistoryMessage } from '../engine.ts';
import type { Person, PersonMatch } from '../../knowledge/types.ts';
import { normalizeName } from '../../knowledge/fuzzy.ts';
import { AnswerBuilder } from './compose.ts';
import { peopleCitedIn, personCitation, type OfflineKnowledge } from './directory-cite.ts';
import { FIRST_PERSON, nameSpans, normalizeQuestion, peopleCueOf, type Field, type PeopleCue } from './router.ts';

export interface PeopleOutcome {
  reasoning: string[];
  answer: AnswerBuilder;
}

interface Ctx {
  k: OfflineKnowledge;
  assistant: string;
  history: HistoryMessage[];
}

type Resolution =
  | { kind: 'one'; person: Person; typed: string }
  | { kind: 'many'; matches: PersonMatch[]; typed: string }
  | { kind: 'none'; typed: string | null };

/** Answers a people question, or returns null when no person, role or department could be identified. */
export async function answerPeople(ctx: Ctx, input: string, cue: PeopleCue): Promise<PeopleOutcome | null> {
  // Only a clearly personal question may match a lone lower-case word loosely ("where do I park" is not about Julian Park).
  const strict = !cue.strong || FIRST_PERSON.test(normalizeQuestion(input));
  // "Who is the CTO?", "Who is the Payroll Manager?": a role, before "manager" is read as a reporting question.
  if (/^(who|whom)( is|'s| are)? (the|our) /i.test(normalizeQuestion(input))) {
    const role = await resolveByRole(ctx, input);
    if (role) return answerFor(ctx, role, { ...cue, intent: 'profile' });
  }
  if (cue.intent === 'head' || cue.intent === 'manages') {
    if (cue.intent === 'manages') {
      const who = await resolveByName(ctx, input, strict);
      if (who.kind !== 'none') return answerFor(ctx, who, { ...cue, intent: 'manager' });
    }
    const dept = await departmentIn(ctx, input);
    if (dept) return answerHead(ctx, dept);
    const role = await resolveByRole(ctx, input);
    if (role) return answerFor(ctx, role, { ...cue, intent: 'profile' });
    return null;
  }
  let who = await resolveByName(ctx, input, strict);
  if (who.kind === 'none' && (cue.intent === 'profile' || cue.intent === 'fields')) {
    const role = await resolveByRole(ctx, input);
    if (role) who = role;
  }
  if (who.kind === 'none' && (cue.pronoun || !hasNameLikeWords(input))) {
    const prev = await personFromHistory(ctx, input);
    if (prev) who = { kind: 'one', person: prev, typed: prev.name };
  }
  if (who.kind === 'none') {
    // "What is Bartholomew Quince's phone number?": clearly a person, not in the directory.
    if (cue.strong && who.typed && clearlyAName(input, who.typed, cue)) return notFound(who.typed);
    return null;
  }
  return answerFor(ctx, who, cue);
}

/** The words are used as a person's name: "X's …", "who is X", "who does X report to", "who reports to X". */
function clearlyAName(input: string, typed: string, cue: PeopleCue): boolean {
  const t = input.replace(/[’‘`]/g, "'");
  const at = t.indexOf(typed);
  if (at < 0) return false;
  if (/^'s?\b/.test(t.slice(at + typed.length))) return true;
  if (/^(who is|who's|tell me about|look up)\s*$/i.test(t.slice(0, at).trim())) return true;
  return cue.intent === 'manager' || cue.intent === 'reports';
}

/** "And Rafael?" / "what about Maya Chen": a bare name right after a people answer reuses that question's intent. */
export async function answerElliptical(ctx: Ctx, input: string): Promise<PeopleOutcome | null> {
  const who = await resolveByName(ctx, input, true);
  if (who.kind === 'none') return null;
  const lastUser = [...ctx.history].reverse().find((m) => m.actor === 'USER');
  const prevCue = lastUser ? peopleCueOf(lastUser.text) : null;
  const cue: PeopleCue = prevCue ?? { intent: 'profile', fields: [], pronoun: false, strong: true };
  if (cue.intent === 'head') return answerFor(ctx, who, { ...cue, intent: 'profile' });
  return answerFor(ctx, who, cue);
}

/**
 * The reply to "Which one do you mean?": the user names or describes one of the candidates ("Alan Kay", "the one in
 * Sales"), and the original question is answered for that person.
 */
export async function answerClarified(ctx: Ctx, input: string): Promise<PeopleOutcome | null> {
  const lastAt = ctx.history.map((m) => m.actor).lastIndexOf('ASSISTANT');
  const last = ctx.history[lastAt];
  if (!last || !/which one do you mean/i.test(last.text)) return null;
  const question = ctx.history.slice(0, lastAt).reverse().find((m) => m.actor === 'USER');
  const cue = question ? peopleCueOf(question.text) : null;
  if (!cue) return null;
  const candidates = await peopleCitedIn(ctx.k, ctx.assistant, last);
  const named = await resolveByName(ctx, input, false);
  let person = named.kind === 'one' && candidates.some((c) => c.id === named.person.id) ? named.person : null;
  person ??= await personFromHistory(ctx, input);
  if (!person) return null;
  return answerFor(ctx, { kind: 'one', person, typed: person.name }, cue.intent === 'head' ? { ...cue, intent: 'profile' } : cue);
}

async function answerFor(ctx: Ctx, who: Exclude<Resolution, { kind: 'none' }>, cue: PeopleCue): Promise<PeopleOutcome> {
  if (who.kind === 'many') return clarify(who.matches, who.typed);
  const p = who.person;
  const reasoning = [`Looking up ${p.name} in the directory`];
  const a = new AnswerBuilder();
  const cite = personCitation(p);
  switch (cue.intent) {
    case 'manager':
    case 'manages': {
      const m = p.managerId ? await ctx.k.getPerson(ctx.assistant, p.managerId) : null;
      if (!m) {
        a.add(`**${p.name}** (${describe(p)}) has no manager listed in the directory.`, [cite]);
      } else {
        a.add(`**${p.name}** reports to **${m.name}**${m.title ? `, ${m.title}` : ''}.`, [cite, personCitation(m)]);
      }
      break;
    }
    case 'reports': {
      reasoning.push(`Listing the people who report to ${p.name}`);
      const reports = await ctx.k.directReports(ctx.assistant, p.id);
      if (!reports.length) {
        a.add(`**${p.name}** (${describe(p)}) has no direct reports in the directory.`, [cite]);
        break;
      }
      a.add(`**${p.name}** has ${reports.length} direct report${reports.length === 1 ? '' : 's'}:`, [cite]);
      const shown = reports.slice(0, 25);
      shown.forEach((r, i) => a.item(`- **${r.name}**${r.title ? `, ${r.title}` : ''}`, [personCitation(r)], i === 0));
      if (reports.length > shown.length) a.item(`- …and ${reports.length - shown.length} more`, [cite]);
      break;
    }
    case 'fields': {
      const fields = cue.fields.length ? cue.fields : (['title'] as Field[]);
      for (const f of fields) a.add(fieldSentence(p, f), [cite]);
      break;
    }
    case 'profile':
    case 'head': {
      const where = [p.department && `works in ${p.department}`, p.location && (/^remote$/i.test(p.location) ? 'works remotely' : `is based in ${p.location}`)].filter(Boolean).join(' and ');
      a.add(`**${p.name}**${p.title ? ` (${p.title})` : ''} ${where || 'is listed in the directory'}.`, [cite]);
      if (p.managerName) a.add(`${firstName(p)} reports to ${p.managerName}.`, [cite]);
      const contact = [p.email && `email ${p.email}`, p.phone && `phone ${p.phone}`].filter(Boolean).join(', ');
      if (contact) a.add(`Contact: ${contact}.`, [cite]);
      break;
    }
  }
  return { reasoning, answer: a };
}

function fieldSentence(p: Person, f: Field): string {
  const missing = (what: string) => `The directory has no ${what} for **${p.name}**.`;
  switch (f) {
    case 'email':
      return p.email ? `**${p.name}**'s email address is ${p.email}.` : missing('email address');
    case 'phone':
      return p.phone ? `**${p.name}**'s phone number is ${p.phone}.` : missing('phone number');
    case 'title':
      return p.title ? `**${p.name}**'s job title is ${p.title}${p.department ? ` (${p.department})` : ''}.` : missing('job title');
    case 'department':
      return p.department ? `**${p.name}** is in the ${p.department} department${p.title ? ` (${p.title})` : ''}.` : missing('department');
    case 'location':
      return p.location
        ? /^remote$/i.test(p.location)
          ? `**${p.name}** works remotely (location: ${p.location}).`
          : `**${p.name}** is based in ${p.location}.`
        : missing('location');
  }
}

async function answerHead(ctx: Ctx, department: string): Promise<PeopleOutcome | null> {
  const head = await ctx.k.departmentHead(ctx.assistant, department);
  if (!head) return null;
  const a = new AnswerBuilder();
  a.add(`**${head.name}** leads ${department}${head.title ? ` as ${head.title}` : ''}.`, [personCitation(head)]);
  return { reasoning: [`Looking up who leads ${department} in the directory`], answer: a };
}

function clarify(matches: PersonMatch[], typed: string): PeopleOutcome {
  const a = new AnswerBuilder();
  a.add(`I found ${matches.length} people matching “${typed}”. Which one do you mean?`);
  matches.forEach((m, i) => a.item(`- **${m.person.name}**, ${[m.person.title, m.person.department].filter(Boolean).join(', ')}`, [personCitation(m.person)], i === 0));
  return { reasoning: [`Looking up “${typed}” in the directory`], answer: a };
}

function notFound(typed: string): PeopleOutcome {
  const a = new AnswerBuilder();
  a.add(`I couldn't find anyone named “${typed}” in the company directory.`);
  a.add('Check the spelling, or try their full name or email address.');
  return { reasoning: [`Looking up “${typed}” in the directory`], answer: a };
}

// ---------------------------------------------------------------- resolution

/** The best person named in the question; close runners-up make it ambiguous. */
export async function resolveByName(ctx: Ctx, input: string, strict: boolean): Promise<Resolution> {
  let best: { matches: PersonMatch[]; typed: string; score: number } | null = null;
  let firstTyped: string | null = null;
  for (const span of nameSpans(input)) {
    if (span.whole && firstTyped === null && /\p{Lu}/u.test(span.text)) firstTyped = span.text;
    const matches = await ctx.k.findPeople(ctx.assistant, span.text, { limit: 6 });
    const top = matches[0];
    if (!top) continue;
    // A word cut out of a longer run only counts when it matches without typos.
    if (!span.whole && top.score < 0.85) continue;
    // In a question about the asker, a lone lower-case word must match a whole name exactly.
    if (strict && !span.text.includes(' ') && !/^\p{Lu}/u.test(span.text) && !span.text.includes('@') && top.score < 0.95) continue;
    if (!best || top.score > best.score + 1e-9) best = { matches, typed: span.text, score: top.score };
    if (span.whole && top.score >= 0.999) break;
  }
  if (!best) return { kind: 'none', typed: firstTyped };
  const close = best.matches.filter((m) => m.score >= best!.score - 0.03);
  if (close.length > 1) return { kind: 'many', matches: close, typed: best.typed };
  return { kind: 'one', person: best.matches[0]!.person, typed: best.typed };
}

/** "Who is the CTO?", "Who is the Payroll Manager?": people by job title. */
async function resolveByRole(ctx: Ctx, input: string): Promise<Exclude<Resolution, { kind: 'none' }> | null> {
  if (!ctx.k.findPeopleByTitle) return null;
  const role = normalizeQuestion(input)
    .replace(/[?!.]+$/, '')
    .replace(/^(who|whom)( is|'s| are| was)?\s+(the |our |acme'?s )?/, '')
    .replace(/\s+(at|of|for|in) (acme|the company|our company)$/, '')
    .trim();
  if (!role || role.split(' ').length > 6) return null;
  const matches = await ctx.k.findPeopleByTitle(ctx.assistant, role);
  const top = matches[0];
  if (!top || top.score < 0.5) return null;
  const close = matches.filter((m) => m.score >= top.score - 1e-9);
  if (close.length > 1) return { kind: 'many', matches: close.slice(0, 8), typed: role };
  return { kind: 'one', person: top.person, typed: role };
}

const DEPARTMENT_ALIASES: Record<string, string[]> = {
  hr: ['human resources', 'people team', 'people ops', 'people operations', 'people'],
  it: ['information technology', 'it department', 'tech support'],
  engineering: ['eng', 'engineers', 'r&d', 'development'],
  executive: ['exec', 'executives', 'leadership team', 'the company', 'acme'],
  operations: ['ops'],
  security: ['infosec', 'information security', 'cybersecurity'],
  finance: ['accounting'],
  legal: ['law'],
  marketing: ['brand'],
  sales: ['sales team'],
  facilities: ['workplace', 'office management'],
};

/** The department a question names, matched against the directory's departments (with a few common aliases). */
async function departmentIn(ctx: Ctx, input: string): Promise<string | null> {
  const depts = await ctx.k.departments(ctx.assistant);
  const text = ` ${normalizeName(input)} `;
  let best: { dept: string; len: number } | null = null;
  for (const d of depts) {
    const n = normalizeName(d);
    const names = [n, ...(DEPARTMENT_ALIASES[n] ?? []).map(normalizeName)];
    for (const name of names) {
      if (!name) continue;
      // "it" is a department only when written IT (or as the object of "heads up it"/"runs it" questions).
      if (name === 'it' && !/\bIT\b/.test(input) && !/\b(heads?|leads?|runs?|manages?|of|up) it\s*[?!.]*$/i.test(input)) continue;
      if (text.includes(` ${name} `) && (!best || name.length > best.len)) best = { dept: d, len: name.length };
    }
  }
  return best?.dept ?? null;
}

/** The person the previous answer was about (for "what's her email?"), or the one the user picked after a clarification. */
async function personFromHistory(ctx: Ctx, input: string): Promise<Person | null> {
  for (let i = ctx.history.length - 1; i >= 0; i--) {
    const m = ctx.history[i]!;
    if (m.actor !== 'ASSISTANT' || !m.citations.length) continue;
    const people = await peopleCitedIn(ctx.k, ctx.assistant, m);
    if (!people.length) continue;
    if (people.length > 1 && /which one do you mean/i.test(m.text)) {
      const words = new Set(normalizeName(input).split(' '));
      const picked = people.filter((p) => normalizeName(`${p.name} ${p.title} ${p.department} ${p.location}`).split(' ').some((w) => w.length > 2 && words.has(w)));
      return picked.length === 1 ? picked[0]! : null;
    }
    return people[0]!;
  }
  return null;
}

function hasNameLikeWords(input: string): boolean {
  return nameSpans(input).some((s) => s.whole);
}

function describe(p: Person): string {
  return [p.title, p.department].filter(Boolean).join(', ') || 'in the directory';
}

function firstName(p: Person): string {
  return p.name.split(' ')[0] ?? p.name;
}
