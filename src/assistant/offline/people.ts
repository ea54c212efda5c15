/** People questions: find who is meant (name, role, department, or the person of the previous answer) and answer. */
import type { HistoryMessage } from '../engine.ts';
import type { Person, PersonMatch } from '../../knowledge/types.ts';
import { normalizeName } from '../../knowledge/fuzzy.ts';
import { AnswerBuilder } from './compose.ts';
import { peopleCitedIn, personCitation, type OfflineKnowledge } from './directory-cite.ts';
import { mostlyRole, mostSenior, pickRole, roleText, type RoleCandidate } from './people-role.ts';
import { contentStems } from './extract.ts';
import { askingClause, exclusionOf, FIRST_PERSON, nameSpans, normalizeQuestion, peopleCueOf, type Field, type PeopleCue } from './router.ts';

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
  // "And Linus Berg?" right after a people answer: the previous question, about this person.
  if (cue.weak && !cue.describes && input.split(/\s+/).length <= 8 && followsPeopleAnswer(ctx.history)) {
    const elliptical = await answerElliptical(ctx, input);
    if (elliptical) return elliptical;
  }
  const { text: main, excluded } = exclusionOf(input);
  const q = normalizeQuestion(main);
  // Only a clearly personal question may match a lone lower-case word loosely ("where do I park" is not about Julian Park).
  const strict = !cue.strong || FIRST_PERSON.test(q);
  // A role is looked up in the clause that asks for it ("The boiler is leaking, who is the caretaker at Elm Street?",
  // "Who is the bursar? My invoice bounced"): the rest of the message is the story, not the role.
  // A clause that only points back ("…the infection nurse at the clinic, who is that?") names nothing: the whole
  // message holds the role.
  const clause = askingClause(main);
  const ask = contentStems(clause).length ? clause : main;
  const askCue = ask === main ? cue : (peopleCueOf(ask) ?? cue);
  const askQ = ask === main ? q : normalizeQuestion(ask);
  // "Who is the CTO?", "Who is the Payroll Manager?": a whole title, before "manager" is read as a reporting question.
  if (!excluded && /^(who|whom)( is|'s| are)? (the|our) /i.test(askQ)) {
    const role = await resolveByRole(ctx, ask);
    if (role) return answerFor(ctx, role, { ...askCue, intent: 'profile' });
  }
  const exclude = excluded ? await excludedIds(ctx, excluded) : [];
  const who = await resolveByName(ctx, main, strict, cue.weak === true);
  if (who.kind !== 'none') {
    if (who.kind === 'one' && exclude.includes(who.person.id)) return null;
    if (cue.intent === 'reports' && who.kind === 'one') return answerReports(ctx, who.person, main, who.typed);
    // "Who manages Ada?": Ada's manager. Leadership wording about a named person is about the person.
    if (cue.intent === 'manages') return answerFor(ctx, who, { ...cue, intent: 'manager' });
    if (cue.intent === 'head') return answerFor(ctx, who, { ...cue, intent: 'profile' });
    return answerFor(ctx, who, withContact(cue));
  }
  // Described by role, department or site.
  // "Tell my manager": the asker's own manager is not a role to look up.
  const relation = askCue.intent === 'manager' || askCue.intent === 'reports';
  if (!(relation && FIRST_PERSON.test(askQ)) && (!askCue.weak || askCue.describes || relation)) {
    const byRole = await answerByRole(ctx, ask, askCue, exclude, relation);
    if (byRole) return byRole;
  }
  if (cue.weak) return null;
  if (cue.pronoun || !hasNameLikeWords(main)) {
    const prev = await personFromHistory(ctx, main);
    if (prev) return answerFor(ctx, { kind: 'one', person: prev, typed: prev.name }, withContact(cue));
  }
  // "What is Bartholomew Quince's phone number?": clearly a person, not in the directory.
  if (cue.strong && who.typed && clearlyAName(main, who.typed, cue)) return notFound(who.typed);
  return null;
}

/** Contact wording ("how do I reach …") asks for email and phone. */
function withContact(cue: PeopleCue): PeopleCue {
  if (!cue.contact) return cue;
  const fields: Field[] = [...new Set<Field>([...cue.fields.filter((f) => f !== 'title'), 'email', 'phone'])];
  return { ...cue, intent: cue.intent === 'profile' ? 'fields' : cue.intent, fields };
}

/** The people the excluded words name ("other than Dana Ruiz"). */
async function excludedIds(ctx: Ctx, excluded: string): Promise<string[]> {
  const r = await resolveByName(ctx, excluded, false, false);
  if (r.kind === 'one') return [r.person.id];
  if (r.kind === 'many') return r.matches.map((m) => m.person.id);
  return [];
}

/** Leaders, role holders, or the subject of a relation, from the question's role words. */
async function answerByRole(ctx: Ctx, input: string, cue: PeopleCue, exclude: string[], relation: boolean): Promise<PeopleOutcome | null> {
  if (!ctx.k.findPeopleByRole) return null;
  const lead = cue.lead === true;
  const text = roleText(input, { relation, lead });
  if (!text) return null;
  const found = await ctx.k.findPeopleByRole(ctx.assistant, text, { exclude, seniority: lead && !relation });
  if (lead && !relation) {
    const leaders = mostlyRole(found) ? pickRole(found.matches, { lead: true, weak: cue.weak === true, asksForPerson: true }) : [];
    const one = leaders.length === 1 ? leaders[0]! : null;
    // "Who leads Engineering?": only a department was named, so say that this person leads it.
    const deptWords = new Set(normalizeName(one?.person.department ?? '').split(' '));
    if (one && one.person.department && found.known.every((w) => deptWords.has(normalizeName(w)))) {
      return headAnswer(one.person, one.person.department);
    }
    if (leaders.length) return answerRoleList(leaders, found.known, withContact({ ...cue, intent: 'profile' }), true);
    // A department by a common alias ("people team" for HR): its head is the member whose manager is outside it.
    const dept = await departmentIn(ctx, input);
    return dept ? answerHead(ctx, dept) : null;
  }
  if (!mostlyRole(found)) return null;
  if (relation) {
    // "Who does the CFO report to?", "the CEO's direct reports": one person, the role's most senior holder.
    const picked = pickRole(found.matches, { lead: false, weak: false, asksForPerson: true });
    const one = picked.length ? mostSenior(picked) : null;
    if (one) {
      if (cue.intent === 'reports') return answerReports(ctx, one.person, input, null);
      return answerFor(ctx, { kind: 'one', person: one.person, typed: text }, cue);
    }
    // "Who do the RVNs report to?": several people hold the role; their manager(s) answer it without guessing one.
    if (picked.length > 1 && cue.intent === 'manager') return answerManagersOf(ctx, picked, found.known.join(' '));
    if (picked.length > 1) return clarify(picked.map((p) => ({ person: p.person, score: p.score })), found.known.join(' '));
    // "The manager of the Old Town site": a place, so its leader.
    if (cue.intent === 'manager') {
      const leaders = pickRole(found.matches, { lead: true, weak: false, asksForPerson: true });
      if (leaders.length) return answerRoleList(leaders, found.known, { ...cue, intent: 'profile' }, true);
    }
    return null;
  }
  const picked = pickRole(found.matches, { lead, weak: cue.weak === true, asksForPerson: cue.describes === true });
  if (!picked.length) return null;
  return answerRoleList(picked, found.known, withContact(cue), lead);
}

/**
 * Whom several holders of a role report to: their common manager when they share one ("All 4 people matching “gms”
 * report to …"), otherwise each one's manager, one line each.
 */
async function answerManagersOf(ctx: Ctx, people: RoleCandidate[], described: string): Promise<PeopleOutcome> {
  const shown = people.slice(0, MAX_LISTED);
  const managerIds = [...new Set(shown.map((c) => c.person.managerId ?? ''))];
  const reasoning = [`Looking up “${described}” in the directory by title, department and site`, 'Looking up whom they report to'];
  const a = new AnswerBuilder();
  const common = managerIds.length === 1 && managerIds[0] ? await ctx.k.getPerson(ctx.assistant, managerIds[0]) : null;
  if (common && people.length === shown.length) {
    a.add(`${shown.length === 2 ? 'Both' : `All ${shown.length}`} people matching “${described}” report to **${common.name}**${common.title ? `, ${common.title}` : ''}:`, [personCitation(common)]);
    shown.forEach((c, i) => a.item(`- **${c.person.name}**, ${[c.person.title, c.person.department, c.person.location].filter(Boolean).join(', ')}`, [personCitation(c.person)], i === 0));
    return { reasoning, answer: a };
  }
  a.add(`${people.length} people match “${described}” in the directory:`);
  // Each manager is read once, however many of them report to one.
  const managers = new Map<string, Person | null>();
  for (const id of managerIds) if (id) managers.set(id, await ctx.k.getPerson(ctx.assistant, id));
  for (const [i, c] of shown.entries()) {
    const p = c.person;
    const m = p.managerId ? (managers.get(p.managerId) ?? null) : null;
    const line = m ? `- **${p.name}** reports to **${m.name}**${m.title ? `, ${m.title}` : ''}` : `- **${p.name}** has no manager listed`;
    a.item(line, m ? [personCitation(p), personCitation(m)] : [personCitation(p)], i === 0);
  }
  if (people.length > shown.length) a.item(`- …and ${people.length - shown.length} more`);
  return { reasoning, answer: a };
}

/** One or several people found by role, with what was asked (or their contact details). */
function answerRoleList(people: RoleCandidate[], known: string[], cue: PeopleCue, lead: boolean): PeopleOutcome {
  const a = new AnswerBuilder();
  const described = known.join(' ');
  const asked = cue.intent === 'fields' && cue.fields.length ? cue.fields : null;
  const reasoning = [`Looking up “${described}” in the directory by title, department and site`];
  if (people.length === 1) {
    const p = people[0]!.person;
    const cite = personCitation(p);
    a.add(`**${p.name}**${p.title ? ` (${p.title})` : ''}${placeOf(p)}.`, [cite]);
    if (asked) for (const f of asked) a.add(fieldSentence(p, f), [cite]);
    else {
      if (p.managerName) a.add(`${firstName(p)} reports to ${p.managerName}.`, [cite]);
      const contact = contactOf(p);
      if (contact) a.add(`Contact: ${contact}.`, [cite]);
    }
    return { reasoning, answer: a };
  }
  const shown = people.slice(0, MAX_LISTED);
  a.add(`${lead ? 'These people lead' : 'These people match'} “${described}” in the directory:`);
  shown.forEach((c, i) => {
    const p = c.person;
    const details = asked ? asked.map((f) => fieldValue(p, f)).filter(Boolean).join(', ') : contactOf(p);
    a.item(`- **${p.name}**, ${[p.title, p.department, p.location].filter(Boolean).join(', ')}${details ? ` — ${details}` : ''}`, [personCitation(p)], i === 0);
  });
  if (people.length > shown.length) a.item(`- …and ${people.length - shown.length} more`);
  return { reasoning, answer: a };
}

const MAX_LISTED = 10;

/** " in Dept at Site" for a sentence about someone. */
function placeOf(p: Person): string {
  const where = [p.department && ` works in ${p.department}`, p.location && (/^remote$/i.test(p.location) ? ' works remotely' : ` is based at ${p.location}`)].filter(Boolean);
  return where.length ? `${where.join(' and')}` : ' is listed in the directory';
}

function contactOf(p: Person): string {
  return [p.email && `email ${p.email}`, p.phone && `phone ${p.phone}`].filter(Boolean).join(', ');
}

function fieldValue(p: Person, f: Field): string {
  switch (f) {
    case 'email':
      return p.email;
    case 'phone':
      return p.phone;
    case 'title':
      return p.title;
    case 'department':
      return p.department;
    case 'location':
      return p.location;
  }
}

/** Someone's direct reports; the question's role words ("which nurse managers report to …") narrow the list. */
async function answerReports(ctx: Ctx, p: Person, input: string, typed: string | null): Promise<PeopleOutcome> {
  const reports = await ctx.k.directReports(ctx.assistant, p.id);
  if (reports.length > 1 && ctx.k.findPeopleByRole) {
    const words = roleText(input, { cut: [typed ?? '', p.name, ...p.name.split(' ')] });
    const ofTitle = words ? await ctx.k.findPeopleByRole(ctx.assistant, words, { within: reports.map((r) => r.id) }) : null;
    const fit = ofTitle?.matches.filter((m) => m.score >= 0.99 && m.fields.title.length > 0) ?? [];
    if (fit.length && fit.length < reports.length) {
      const keep = new Set(fit.map((m) => m.id));
      return listReports(p, reports.filter((r) => keep.has(r.id)), ofTitle!.known.join(' '));
    }
  }
  return listReports(p, reports, null);
}

function listReports(p: Person, reports: Person[], narrowed: string | null): PeopleOutcome {
  const reasoning = [`Looking up ${p.name} in the directory`, `Listing the people who report to ${p.name}`];
  const a = new AnswerBuilder();
  const cite = personCitation(p);
  if (!reports.length) {
    a.add(`**${p.name}** (${describe(p)}) has no direct reports in the directory.`, [cite]);
    return { reasoning, answer: a };
  }
  const n = reports.length;
  if (narrowed) a.add(`${n} of **${p.name}**'s direct reports match “${narrowed}”:`, [cite]);
  else a.add(`**${p.name}** has ${n} direct report${n === 1 ? '' : 's'}:`, [cite]);
  const shown = reports.slice(0, 25);
  shown.forEach((r, i) => a.item(`- **${r.name}**${r.title ? `, ${r.title}` : ''}`, [personCitation(r)], i === 0));
  if (n > shown.length) a.item(`- …and ${n - shown.length} more`, [cite]);
  return { reasoning, answer: a };
}

/** The words are used as a person's name: "X's …", "who is X", "who does X report to", "who reports to X". */
function clearlyAName(input: string, typed: string, cue: PeopleCue): boolean {
  const t = input.replace(/[’‘`]/g, "'");
  const at = t.indexOf(typed);
  if (at < 0) return false;
  if (/^'s?\b/.test(t.slice(at + typed.length))) return true;
  if (/^(who is|who's|tell me about|look up)\s*$/i.test(t.slice(0, at).trim())) return true;
  // A word capitalised because it opens a sentence ("Guest is fuming … without getting the manager?") or an acronym
  // ("refer me to OH", "the GMs") is not clearly a name: the question goes to the knowledge base instead.
  if (/(^|[.!?:;]\s+)["'(]?$/.test(t.slice(0, at)) || /^\p{Lu}{2,6}s?(?![\p{L}])/u.test(typed)) return false;
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
    case 'reports':
      return answerReports(ctx, p, '', null);
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
  return head ? headAnswer(head, department) : null;
}

function headAnswer(head: Person, department: string): PeopleOutcome {
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

/**
 * The best person named in the question; close runners-up make it ambiguous. `confident`: the question only may be
 * about a person, so only a capitalised name (or an email) the directory knows well counts.
 */
export async function resolveByName(ctx: Ctx, input: string, strict: boolean, confident = false): Promise<Resolution> {
  let best: { matches: PersonMatch[]; typed: string; score: number } | null = null;
  let firstTyped: string | null = null;
  for (const span of nameSpans(input)) {
    if (span.whole && firstTyped === null && /\p{Lu}/u.test(span.text)) firstTyped = span.text;
    // "Center" out of "Software Center": a capitalised phrase is a name only when the directory knows all of it.
    if (span.inProperNoun) continue;
    if (confident && !/^\p{Lu}/u.test(span.text) && !span.text.includes('@')) continue;
    const matches = await ctx.k.findPeople(ctx.assistant, span.text, { limit: 6 });
    const top = matches[0];
    if (!top) continue;
    // A word cut out of a longer run only counts when it matches without typos.
    if (!span.whole && top.score < 0.85) continue;
    // A lower-case word is a name only when it is one ("car" is not a prefix of Carmen), and so is a word in
    // capitals ("COO" is an abbreviation, not the start of Cooper).
    const caps = /^[\p{Lu}\d]{2,6}$/u.test(span.text);
    if ((confident || caps || !/\p{Lu}/u.test(span.text)) && !span.text.includes('@') && top.score < 0.85) continue;
    // Nothing in the question asks about a person: only a full name ("Nora Beacon", not the product "Beacon"), or a
    // surname after a title of address ("Dr. Abara").
    if (confident && !span.text.includes('@') && top.score < 0.95 && !afterHonorific(input, span.text)) continue;
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

const HONORIFIC = /\b(?:dr|mr|mrs|ms|mx|prof|doctor|professor)\.?\s+$/i;

/** The span is written right after "Dr.", "Ms" … (bounded: only the few characters before it are examined). */
function afterHonorific(input: string, span: string): boolean {
  const at = input.indexOf(span);
  return at > 0 && HONORIFIC.test(input.slice(Math.max(0, at - 12), at));
}

/** The previous assistant message cited directory entries. */
function followsPeopleAnswer(history: HistoryMessage[]): boolean {
  const last = [...history].reverse().find((m) => m.actor === 'ASSISTANT');
  return Boolean(last?.citations.some((c) => c.attributes.some((a) => a.key === 'EMAIL')));
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
