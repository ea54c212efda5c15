/**
 * Role search: which people a question describes by job title, department and site, using the directory itself as
 * the vocabulary. A question word the directory never uses carries no evidence; a rare word ("payroll") weighs more
 * than a common one ("manager"). Plain in-memory work, linear in the directory size times the question's words.
 */
import { fieldTerms, questionTerms, titleAcronyms, titleMainPart } from './role-terms.ts';

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
  /**
   * Number of full-weight terms of the title's main part (before a comma or bracket: "Practice Manager, Ashgrove" has
   * two), so a site or team named after the comma does not make one holder of a title fit it less than another.
   */
  primary: number;
}

export interface RoleIndex {
  entries: RoleEntry[];
  /** Term → number of people with it in any field. */
  df: Map<string, number>;
  /** Term → positions in `entries` of the people with it in any field. */
  postings: Map<string, number[]>;
  /** Person id → position in `entries`. */
  positions: Map<string, number>;
  /** An acronym the directory's titles spell ("gm" for General Manager) → the title terms it stands for. */
  acronyms: Map<string, string[][]>;
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
  const postings = new Map<string, number[]>();
  // Titles, departments and sites repeat across people: stem each distinct string once.
  const memo = new Map<string, string[]>();
  const terms = (text: string): string[] => {
    let t = memo.get(text);
    if (!t) {
      t = fieldTerms(text);
      memo.set(text, t);
    }
    return t;
  };
  const entries = rows.map((r, i): RoleEntry => {
    const title = new Map<string, number>();
    const cut = r.title.search(/\sto\s/i);
    for (const t of terms(cut < 0 ? r.title : r.title.slice(0, cut))) title.set(t, 1);
    if (cut >= 0) for (const t of terms(r.title.slice(cut))) if (!title.has(t)) title.set(t, 0.5);
    const e: RoleEntry = {
      id: r.id,
      title,
      primary: Math.max(1, new Set(terms(titleMainPart(cut < 0 ? r.title : r.title.slice(0, cut)))).size),
      head: headOf(r.title, terms),
      department: new Set(terms(r.department)),
      location: new Set(terms(r.location)),
      // Top of the tree is depth 0; someone whose manager is missing counts as a top too.
      depth: r.managerId && byId.has(r.managerId) ? depth(r.id) : 0,
      reports: reports.get(r.id) ?? 0,
    };
    for (const t of new Set([...e.title.keys(), ...e.department, ...e.location])) {
      df.set(t, (df.get(t) ?? 0) + 1);
      const list = postings.get(t);
      if (list) list.push(i);
      else postings.set(t, [i]);
    }
    return e;
  });
  // Acronyms of the titles themselves: "the RVNs" finds the Registered Veterinary Nurses, "the SMs" the Studio Managers.
  const acronyms = new Map<string, string[][]>();
  for (const title of new Set(rows.map((r) => r.title))) {
    for (const { acronym, terms } of titleAcronyms(title)) {
      const list = acronyms.get(acronym) ?? [];
      if (!list.some((t) => t.join(' ') === terms.join(' '))) list.push(terms);
      acronyms.set(acronym, list);
    }
  }
  return { entries, df, postings, positions: new Map(entries.map((e, i) => [e.id, i])), acronyms };
}


/** The head word of a title as a term: the last word before "of", "to" or a comma ("Director of Pharmacy" → director). */
function headOf(title: string, terms: (text: string) => string[] = fieldTerms): string | null {
  const main = title.split(/,|\s(?:of|to|for)\s/i)[0] ?? '';
  return terms(main).at(-1) ?? null;
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
      let alts = g.alternatives.filter((a) => a.length > 0 && a.every((t) => index.df.has(t)));
      // An abbreviation the tables do not know, or whose expansions this directory never uses, is read as the initials
      // of one of its titles ("PMs": practice managers where there are no product managers).
      if (g.acronym && !alts.length) alts = (index.acronyms.get(g.acronym) ?? []).filter((a) => a.every((t) => index.df.has(t)));
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
  const within = opts.within ? opts.within.flatMap((id) => index.positions.get(id) ?? []) : null;
  const exclude = new Set((opts.exclude ?? []).flatMap((id) => index.positions.get(id) ?? []));
  const limit = opts.limit ?? 60;

  /** The best alternative of a group for one person, and its value (0 when none matches). */
  const bestOf = (e: RoleEntry, alts: readonly string[][]): { v: number; alt: string[] | null } => {
    let best = 0;
    let bestAlt: string[] | null = null;
    for (const alt of alts) {
      let v = 0;
      for (const t of alt) {
        const f = Math.max(e.title.get(t) ?? 0, e.department.has(t) || e.location.has(t) ? 1 : 0);
        if (!f) {
          v = 0;
          break;
        }
        v += idf(t) * f;
      }
      if (v > best) {
        best = v;
        bestAlt = alt;
      }
    }
    return { v: best, alt: bestAlt };
  };

  // Typed arrays over the whole directory; only the people holding a group's rarest term are visited (postings).
  const sum = new Float64Array(n);
  const count = new Uint16Array(n);
  const titleCount = new Uint16Array(n);
  const seenInGroup = new Uint8Array(n);
  const touched: number[] = [];
  for (const g of unique) {
    const visited: number[] = [];
    for (const alt of g.alts) {
      const rarest = alt.reduce((a, b) => ((index.df.get(a) ?? 0) <= (index.df.get(b) ?? 0) ? a : b));
      for (const i of within ?? index.postings.get(rarest) ?? []) {
        if (seenInGroup[i] || exclude.has(i)) continue;
        seenInGroup[i] = 1;
        visited.push(i);
      }
    }
    for (const i of visited) {
      seenInGroup[i] = 0;
      const e = index.entries[i]!;
      const { v, alt } = bestOf(e, g.alts);
      if (!alt) continue;
      if (!count[i]) touched.push(i);
      sum[i]! += v;
      count[i]!++;
      for (const t of alt) if (e.title.get(t) === 1) titleCount[i]!++;
    }
  }
  const score = (i: number) => sum[i]! / total;
  const fit = (i: number) => {
    const p = index.entries[i]!.primary;
    return p ? Math.min(1, titleCount[i]! / p) : 0;
  };
  // Keep the best `limit` by the main key (ties kept), then order those fully.
  const mainKey = (i: number) => (opts.seniority ? count[i]! : score(i));
  let kept = touched;
  if (touched.length > limit) {
    const keys = Float64Array.from(touched, mainKey).sort();
    const cut = keys[keys.length - limit]!;
    kept = touched.filter((i) => mainKey(i) >= cut - 1e-12);
  }
  const ent = (i: number) => index.entries[i]!;
  if (opts.seniority) kept.sort((a, b) => count[b]! - count[a]! || ent(a).depth - ent(b).depth || ent(b).reports - ent(a).reports || score(b) - score(a) || ent(a).id.localeCompare(ent(b).id));
  else kept.sort((a, b) => score(b) - score(a) || fit(b) - fit(a) || ent(a).depth - ent(b).depth || ent(b).reports - ent(a).reports || ent(a).id.localeCompare(ent(b).id));
  // Which field each word matched, and whether the title's head word was named, for the few returned.
  const hits: RoleHit[] = kept.slice(0, limit).map((i) => {
    const e = ent(i);
    const fields: Record<RoleField, string[]> = { title: [], department: [], location: [] };
    let headMatched = false;
    for (const g of unique) {
      const { alt } = bestOf(e, g.alts);
      if (!alt) continue;
      const field: RoleField = alt.some((t) => e.title.get(t) === 1) ? 'title' : alt.some((t) => e.department.has(t)) ? 'department' : alt.some((t) => e.location.has(t)) ? 'location' : 'title';
      fields[field].push(g.word);
      if (e.head && alt.includes(e.head)) headMatched = true;
    }
    return { id: e.id, score: score(i), titleFit: fit(i), matched: count[i]!, fields, headMatched, depth: e.depth, reports: e.reports };
  });
  return { known: [...new Set(unique.map((g) => g.word))], asked, matches: hits };
}
