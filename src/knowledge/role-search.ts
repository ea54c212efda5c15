/**
 * Role search: which people a question describes by job title, department and site, using the directory itself as
 * the vocabulary. A question word the directory never uses carries no evidence; a rare word ("payroll") weighs more
 * than a common one ("manager"). Plain in-memory work, linear in the directory size times the question's words.
 */
import { fieldTerms, questionTerms } from './role-terms.ts';

export interface RoleRow {
  id: string;
  title: string;
  department: string;
  location: string;
  managerId: string | null;
}

interface RoleEntry {
  id: string;
  /** Title term → weight: 1, or 0.5 for the words after "to" ("Assistant to the CFO" is not the CFO). */
  title: Map<string, number>;
  department: Set<string>;
  location: Set<string>;
  /** The title's head word: "Manager" in "Nurse Manager, ICU", "Director" in "Director of Pharmacy". */
  head: string | null;
  /** Steps below the top of the reporting tree (0 = no manager). */
  depth: number;
  reports: number;
}

export interface RoleIndex {
  entries: RoleEntry[];
  /** Term → number of people with it in any field. */
  df: Map<string, number>;
}

export interface RoleSearchOptions {
  /** Only these people (e.g. someone's direct reports). */
  within?: readonly string[];
  /** Never these people ("someone other than X"). */
  exclude?: readonly string[];
  limit?: number;
  /** Rank by how many words matched, then seniority (leadership questions), instead of by weighted score. */
  seniority?: boolean;
}

export type RoleField = 'title' | 'department' | 'location';

export interface RoleHit {
  id: string;
  /** Share (0–1) of the question's directory evidence this person matches. */
  score: number;
  /** Share of the person's own title words that the question matched (1 = the question names the whole title). */
  titleFit: number;
  /** How many of the question's directory words this person matches (leaders are sought among those matching most). */
  matched: number;
  /** The question's words matched, by the field they matched. */
  fields: Record<RoleField, string[]>;
  /** The question names the title's head word ("the parking coordinator"), not only its subject ("parking"). */
  headMatched: boolean;
  depth: number;
  reports: number;
}

export interface RoleHits {
  /** The question's words the directory uses somewhere (its vocabulary), as typed. */
  known: string[];
  /** How many different content words the question has (known or not): known/asked says how much is about roles. */
  asked: number;
  /** Best first: score, then how much of the title was named, then seniority. */
  matches: RoleHit[];
}

export interface RoleSearch<P> {
  known: string[];
  asked: number;
  matches: (RoleHit & { person: P })[];
}

/** Builds the in-memory role index of one directory. */
export function buildRoleIndex(rows: readonly RoleRow[]): RoleIndex {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const reports = new Map<string, number>();
  for (const r of rows) if (r.managerId) reports.set(r.managerId, (reports.get(r.managerId) ?? 0) + 1);
  const depthOf = new Map<string, number>();
  const depth = (id: string): number => {
    const known = depthOf.get(id);
    if (known !== undefined) return known;
    // Walk up iteratively; a cycle (bad data) ends the walk.
    const chain: string[] = [];
    const seen = new Set<string>();
    let cur: string | null | undefined = id;
    let base = 0;
    while (cur && byId.has(cur) && !seen.has(cur)) {
      const d = depthOf.get(cur);
      if (d !== undefined) {
        base = d + 1;
        break;
      }
      seen.add(cur);
      chain.push(cur);
      cur = byId.get(cur)!.managerId;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      depthOf.set(chain[i]!, base);
      base++;
    }
    return depthOf.get(id) ?? 0;
  };
  const df = new Map<string, number>();
  const entries = rows.map((r): RoleEntry => {
    const title = new Map<string, number>();
    const cut = r.title.search(/\sto\s/i);
    for (const t of fieldTerms(cut < 0 ? r.title : r.title.slice(0, cut))) title.set(t, 1);
    if (cut >= 0) for (const t of fieldTerms(r.title.slice(cut))) if (!title.has(t)) title.set(t, 0.5);
    const e: RoleEntry = {
      id: r.id,
      title,
      head: headOf(r.title),
      department: new Set(fieldTerms(r.department)),
      location: new Set(fieldTerms(r.location)),
      // Top of the tree is depth 0; someone whose manager is missing counts as a top too.
      depth: r.managerId && byId.has(r.managerId) ? depth(r.id) : 0,
      reports: reports.get(r.id) ?? 0,
    };
    for (const t of new Set([...e.title.keys(), ...e.department, ...e.location])) df.set(t, (df.get(t) ?? 0) + 1);
    return e;
  });
  return { entries, df };
}

/** The head word of a title as a term: the last word before "of", "to" or a comma ("Director of Pharmacy" → director). */
function headOf(title: string): string | null {
  const main = title.split(/,|\s(?:of|to|for)\s/i)[0] ?? '';
  const terms = fieldTerms(main);
  return terms.at(-1) ?? null;
}

/** The question's groups with at most this many words considered (questions about people are short). */
const MAX_GROUPS = 40;

/** People the question describes, best first. Words that match nobody are ignored; no word matched → no matches. */
export function searchRoles(index: RoleIndex, question: string, opts: RoleSearchOptions = {}): RoleHits {
  const n = index.entries.length;
  const terms = questionTerms(question, MAX_GROUPS);
  const asked = new Set(terms.map((g) => g.word)).size;
  if (!n) return { known: [], asked, matches: [] };
  const idf = (t: string) => Math.log(1 + n / (index.df.get(t) ?? n));
  const groups = terms
    .map((g) => {
      const alts = g.alternatives.filter((a) => a.length > 0 && a.every((t) => index.df.has(t)));
      return { word: g.word, alts, weight: Math.max(0, ...alts.map((a) => a.reduce((s, t) => s + idf(t), 0))) };
    })
    .filter((g) => g.alts.length > 0);
  // The same word twice ("nurse … nurses") counts once.
  const seen = new Set<string>();
  const unique = groups.filter((g) => {
    const key = g.alts.map((a) => a.join('+')).join('|');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const total = unique.reduce((s, g) => s + g.weight, 0);
  if (!total) return { known: [], asked, matches: [] };
  const within = opts.within ? new Set(opts.within) : null;
  const exclude = new Set(opts.exclude ?? []);
  const hits: RoleHit[] = [];
  for (const e of index.entries) {
    if (within && !within.has(e.id)) continue;
    if (exclude.has(e.id)) continue;
    let sum = 0;
    const fields: Record<RoleField, string[]> = { title: [], department: [], location: [] };
    const matchedTitle = new Set<string>();
    let headMatched = false;
    let matched = 0;
    for (const g of unique) {
      let best = 0;
      let bestAlt: string[] | null = null;
      for (const alt of g.alts) {
        let v = 0;
        let ok = true;
        for (const t of alt) {
          const f = Math.max(e.title.get(t) ?? 0, e.department.has(t) || e.location.has(t) ? 1 : 0);
          if (!f) {
            ok = false;
            break;
          }
          v += idf(t) * f;
        }
        if (ok && v > best) {
          best = v;
          bestAlt = alt;
        }
      }
      if (!bestAlt) continue;
      sum += best;
      matched++;
      const inTitle = bestAlt.some((t) => e.title.get(t) === 1);
      const field: RoleField = inTitle ? 'title' : bestAlt.some((t) => e.department.has(t)) ? 'department' : bestAlt.some((t) => e.location.has(t)) ? 'location' : 'title';
      fields[field].push(g.word);
      for (const t of bestAlt) if (e.title.get(t) === 1) matchedTitle.add(t);
      if (e.head && bestAlt.includes(e.head)) headMatched = true;
    }
    if (!sum) continue;
    const primary = [...e.title.values()].filter((v) => v === 1).length;
    hits.push({ id: e.id, score: sum / total, titleFit: primary ? matchedTitle.size / primary : 0, matched, fields, headMatched, depth: e.depth, reports: e.reports });
  }
  if (opts.seniority) hits.sort((a, b) => b.matched - a.matched || a.depth - b.depth || b.reports - a.reports || b.score - a.score || a.id.localeCompare(b.id));
  else hits.sort((a, b) => b.score - a.score || b.titleFit - a.titleFit || a.depth - b.depth || b.reports - a.reports || a.id.localeCompare(b.id));
  return { known: [...new Set(unique.map((g) => g.word))], asked, matches: hits.slice(0, opts.limit ?? 60) };
}
