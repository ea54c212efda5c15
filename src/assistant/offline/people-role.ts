/**
 * People meant by a role, department or site rather than a name ("the payroll specialist", "who runs pharmacy at
 * the north site", "the CFO"): what part of the question describes the role, and whom a role search's results mean.
 */
import type { RoleHit } from '../../knowledge/role-search.ts';
import type { Person } from '../../knowledge/types.ts';

export type RoleCandidate = RoleHit & { person: Person };

/** Words that ask for a field, a relation or a scope, never part of a role. */
const NOT_ROLE = new Set(
  `email emails e-mail mail address phone telephone number numbers extension ext mobile cell contact details info
  reach call ring message ping title job role position located location based where sit sits
  report reports reporting reportees direct directly members works working work under
  overall here everything everyone company companywide organisation organization whole entire
  run runs running oversee oversees overseeing directs department departments dept team teams division group`.split(/\s+/),
);
/** In a leadership question these words ask for the leader; as title words they would find "Team Lead"s. */
const LEAD_WORDS = new Set(['lead', 'leads', 'leading', 'leader', 'leaders', 'leadership', 'head', 'heads', 'heading', 'manage', 'manages', 'managing', 'supervises', 'boss', 'top', 'charge', 'looks', 'look', 'after', 'most', 'senior', 'highest', 'ranking',
  'handles', 'handle', 'handling', 'deals', 'deal', 'dealing', 'takes', 'take', 'taking', 'care', 'sorts', 'sort', 'responsible']);
const MY_STOP = new Set(['is', 'are', 'was', 'has', 'have', 'had', 'and', 'or', 'but', 'to', 'for', 'at', 'in', 'on', 'who', 'that', 'says', 'said', 'wants', 'asked', 'asks']);
const SUBJECT_VERBS = new Set(['is', 'are', 'was', 'were', 'has', 'had', 'says', 'said', 'wants', 'wanted', 'asked', 'asks', 'keeps', 'needs', 'told', 'thinks', 'starts', 'started']);
const RELATION_WORDS = new Set(['manager', 'managers', 'boss', 'bosses', 'supervisor', 'supervisors']);

/**
 * The question's words that may describe a role: names (already resolved) cut out, field and relation words and
 * scope phrases ("in charge of", "for the whole system") dropped. Keeps the typed case ("IT" is not "it").
 */
export function roleText(input: string, opts: { cut?: readonly string[]; relation?: boolean; lead?: boolean } = {}): string {
  let text = input;
  for (const c of opts.cut ?? []) if (c) text = text.split(c).join(' , ');
  const words = text.match(/[\p{L}\p{N}&]+(?:['’][\p{L}]+)?/gu) ?? [];
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!.replace(/['’]s$/i, '');
    const low = w.toLowerCase();
    const next = words[i + 1]?.toLowerCase();
    // "in charge (of)", "responsible for": a relation, not the charge nurse.
    if (low === 'in' && next === 'charge') {
      i += words[i + 2]?.toLowerCase() === 'of' ? 2 : 1;
      continue;
    }
    if (low === 'responsible' && next === 'for') {
      i++;
      continue;
    }
    // "for the whole system", "across the entire company": scope, and the next word goes with it.
    if (low === 'whole' || low === 'entire') {
      i++;
      continue;
    }
    // "my new LPN is asking": someone of the asker's own doing something, not a role to look up ("about my
    // paycheck" keeps its topic word).
    if (low === 'my') {
      let j = i + 1;
      while (j < words.length && j <= i + 3 && !MY_STOP.has(words[j]!.toLowerCase())) j++;
      if (SUBJECT_VERBS.has(words[j]?.toLowerCase() ?? '')) i = j - 1;
      continue;
    }
    if (NOT_ROLE.has(low)) continue;
    if (opts.relation && RELATION_WORDS.has(low)) continue;
    if (opts.lead && LEAD_WORDS.has(low)) continue;
    out.push(w);
  }
  return out.join(' ');
}

/**
 * Least share of the question's content words the directory must know for a role answer: "how do I get hold of the
 * parking coordinator" is all role words; "is anybody I can talk to after a rough night shift" is not about a role.
 */
export const MIN_ROLE_SHARE = 0.5;

/** The role words are most of what the question says. */
export function mostlyRole(found: { known: string[]; asked: number }): boolean {
  return found.asked > 0 && found.known.length / found.asked >= MIN_ROLE_SHARE;
}

export interface RolePickOptions {
  /** A leadership question: the most senior of the people described. */
  lead: boolean;
  /**
   * The question asks for a person ("who", "someone", "reach"); otherwise it must name a title's head word ("the
   * parking coordinator"): "the help desk's number" is about a service, not its manager.
   */
  asksForPerson: boolean;
  /** The cue was only a hint: every word the directory knows must match. */
  weak: boolean;
}

/**
 * Whom a role search means: nobody when the evidence is thin, the most senior when a leader is asked for, otherwise
 * everyone who fits the description equally well (several are listed, not guessed).
 */
export function pickRole(hits: readonly RoleCandidate[], opts: RolePickOptions): RoleCandidate[] {
  const top = hits[0];
  if (!top) return [];
  const described = top.fields.title.length + top.fields.department.length > 0;
  if (!described && !(opts.lead && top.fields.location.length > 0)) return [];
  // (With seniority ranking the first hit is the senior-most of the best matches, not the best score.)
  if (Math.max(...hits.map((h) => h.score)) < (opts.weak ? 0.75 : 0.6)) return [];
  if (!opts.lead && !opts.asksForPerson && !top.headMatched) return [];
  let tier = hits.filter((h) => h.score >= top.score - 1e-9);
  if (opts.lead) {
    // Everyone who fits every word asked ("pharmacy": the pharmacists and their director alike), then the senior-most.
    const most = Math.max(...hits.map((h) => h.matched));
    tier = hits.filter((h) => h.matched === most);
    const bosses = tier.some((h) => h.reports > 0) ? tier.filter((h) => h.reports > 0) : tier;
    const depth = Math.min(...bosses.map((h) => h.depth));
    tier = bosses.filter((h) => h.depth === depth);
  } else {
    // "the payroll specialist": the title that is exactly that beats a longer one that contains it.
    const fit = Math.max(...tier.map((h) => h.titleFit));
    tier = tier.filter((h) => h.titleFit >= fit - 1e-9);
  }
  return [...tier].sort((a, b) => a.depth - b.depth || a.person.name.localeCompare(b.person.name));
}

/** Of several people meant as one ("the CFO"), the single most senior, if exactly one is. */
export function mostSenior(people: readonly RoleCandidate[]): RoleCandidate | null {
  if (people.length === 1) return people[0]!;
  const depth = Math.min(...people.map((p) => p.depth));
  const top = people.filter((p) => p.depth === depth);
  return top.length === 1 ? top[0]! : null;
}
