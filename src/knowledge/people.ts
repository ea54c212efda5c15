/**
 * The people directory: lookups, fuzzy name matching and role search (a question's words against the directory's own
 * titles, departments and sites) over a per-assistant in-memory index, and reporting lines.
 */
import type { Db } from '../store/db.ts';
import { nameTokens, normalizeName, scoreName } from './fuzzy.ts';
import { buildRoleIndex, searchRoles, type RoleIndex, type RoleRow, type RoleSearchOptions, type RoleSearch } from './role-search.ts';
import type { Person, PersonMatch } from './types.ts';

/** The demo's directory (its people are stored with these urls); never applied to other data. */
export const DEMO_DIRECTORY_BASE_URL = 'https://directory.acme.example/people/';

/**
 * A person's citation url when the data gives none: the assistant's `directoryUrl` (a template with `{id}` or
 * `{email}`, or a base the id is appended to); with none configured, `mailto:` their email (a real address, not a
 * made-up page), and for someone without an email a `urn:parley:person:` identifier.
 */
export function personUrl(template: string | undefined, p: { id: string; email: string }): string {
  if (template) {
    if (/\{(id|email)\}/.test(template)) {
      return template.replace(/\{id\}/g, encodeURIComponent(p.id)).replace(/\{email\}/g, encodeURIComponent(p.email));
    }
    return template.replace(/\/?$/, '/') + encodeURIComponent(p.id);
  }
  return p.email ? `mailto:${p.email}` : `urn:parley:person:${encodeURIComponent(p.id)}`;
}

interface PersonRow {
  id: string;
  name: string;
  email: string;
  title: string;
  department: string;
  location: string;
  phone: string;
  manager_id: string | null;
  manager_name: string | null;
  groups: string[];
  url: string | null;
}

interface Entry {
  id: string;
  tokens: string[];
  titleTokens: string[];
  email: string;
  emailLocal: string[];
}

const SELECT_PERSON = `SELECT p.id, p.name, p.email, p.title, p.department, p.location, p.phone, p.manager_id,
  m.name AS manager_name, p.groups, p.url
  FROM kb_people p LEFT JOIN kb_people m ON m.assistant = p.assistant AND m.id = p.manager_id`;

const TITLE_ACRONYMS: Record<string, string> = {
  ceo: 'chief executive officer', cto: 'chief technology officer', cfo: 'chief financial officer',
  coo: 'chief operating officer', ciso: 'chief information security officer', cio: 'chief information officer',
  cmo: 'chief marketing officer', cpo: 'chief people officer', clo: 'chief legal officer', cro: 'chief revenue officer',
  chro: 'chief human resources officer', vp: 'vice president', svp: 'senior vice president',
  evp: 'executive vice president', gc: 'general counsel', em: 'engineering manager', sre: 'site reliability engineer',
  mgr: 'manager', eng: 'engineering', dir: 'director', sr: 'senior', jr: 'junior',
};
const TITLE_STOP = new Set(['of', 'the', 'and', 'for', 'at', 'in', 'a', 'an', 'our', 'acme', 's', 'company']);

function titleTokens(title: string): string[] {
  return normalizeName(title.replace(/&/g, ' and '))
    .split(' ')
    .flatMap((t) => (TITLE_ACRONYMS[t] ?? t).split(' '))
    .filter((t) => t && !TITLE_STOP.has(t));
}

export class Directory {
  // Name and role index per assistant, reloaded when kb_state.version moves (another node may have ingested).
  private readonly cache = new Map<string, { version: number; entries: Entry[]; rows: RoleRow[]; roles: RoleIndex | null }>();

  /** `urls`: each assistant's directory URL template; `fallback` for assistants without one. */
  constructor(
    private readonly db: Db,
    private readonly urls: Readonly<Record<string, string>> = {},
    private readonly fallback?: string | undefined,
  ) {}

  private templateOf(assistant: string): string | undefined {
    return this.urls[assistant] ?? this.fallback;
  }

  private toPerson(assistant: string, r: PersonRow): Person {
    return {
      id: r.id,
      name: r.name,
      email: r.email,
      title: r.title,
      department: r.department,
      location: r.location,
      phone: r.phone,
      managerId: r.manager_id,
      managerName: r.manager_name,
      groups: r.groups ?? [],
      url: r.url ?? personUrl(this.templateOf(assistant), r),
    };
  }

  private async index(assistant: string): Promise<{ entries: Entry[]; rows: RoleRow[]; roles: RoleIndex | null }> {
    const state = await this.db.query<{ version: number | string }>('SELECT version FROM kb_state WHERE assistant = $1', [assistant]);
    const version = Number(state[0]?.version ?? 0);
    const hit = this.cache.get(assistant);
    if (hit && hit.version === version) return hit;
    const rows = await this.db.query<{ id: string; name: string; email: string; title: string; department: string; location: string; manager_id: string | null }>(
      'SELECT id, name, email, title, department, location, manager_id FROM kb_people WHERE assistant = $1',
      [assistant],
    );
    const entries = rows.map((r) => ({
      id: r.id,
      tokens: nameTokens(r.name),
      titleTokens: titleTokens(r.title),
      email: r.email.toLowerCase(),
      emailLocal: nameTokens(r.email.split('@')[0] ?? ''),
    }));
    // The role index is built on the first role question only: name lookups do not pay for it.
    const built = { version, entries, rows: rows.map((r) => ({ id: r.id, title: r.title, department: r.department, location: r.location, managerId: r.manager_id })), roles: null };
    this.cache.set(assistant, built);
    return built;
  }

  private async entries(assistant: string): Promise<Entry[]> {
    return (await this.index(assistant)).entries;
  }

  /**
   * People described by a question's words ("the payroll specialist", "pharmacy at the north site"): every word the
   * directory's titles, departments or sites use is evidence, weighted by rarity; words it never uses are ignored.
   */
  async findByRole(assistant: string, question: string, opts: RoleSearchOptions = {}): Promise<RoleSearch<Person>> {
    const index = await this.index(assistant);
    index.roles ??= buildRoleIndex(index.rows);
    const found = searchRoles(index.roles, question, opts);
    const people = await this.byIds(assistant, found.matches.map((m) => m.id));
    return {
      known: found.known,
      asked: found.asked,
      matches: found.matches.flatMap((m) => {
        const person = people.get(m.id);
        return person ? [{ ...m, person }] : [];
      }),
    };
  }

  async find(assistant: string, query: string, limit = 5): Promise<PersonMatch[]> {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const entries = await this.entries(assistant);
    const scored: { id: string; score: number }[] = [];
    const typed = nameTokens(q);
    for (const e of entries) {
      let score = 0;
      if (q.includes('@')) score = e.email === q ? 1 : 0;
      else {
        score = scoreName(typed, e.tokens);
        // "maya.chen" or "mchen" typed as a handle.
        if (normalizeName(q).replace(/ /g, '') === e.emailLocal.join('')) score = Math.max(score, 0.95);
        else if (e.emailLocal.length > 1) score = Math.max(score, scoreName(typed, e.emailLocal) * 0.9);
      }
      if (score >= 0.6) scored.push({ id: e.id, score });
    }
    scored.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
    const top = scored.slice(0, limit);
    if (!top.length) return [];
    const people = await this.byIds(assistant, top.map((t) => t.id));
    return top.flatMap((t) => {
      const person = people.get(t.id);
      return person ? [{ person, score: Math.round(t.score * 1000) / 1000 }] : [];
    });
  }

  /**
   * People whose job title contains every word of `title` ("CTO", "VP of Sales", "payroll manager"); acronyms are
   * expanded. Score = share of the title's words that were asked for (1 = the whole title).
   */
  async findByTitle(assistant: string, title: string, limit = 8): Promise<PersonMatch[]> {
    const typed = titleTokens(title);
    if (!typed.length) return [];
    const entries = await this.entries(assistant);
    const scored: { id: string; score: number }[] = [];
    for (const e of entries) {
      if (!e.titleTokens.length || !typed.every((t) => e.titleTokens.includes(t))) continue;
      scored.push({ id: e.id, score: typed.length / e.titleTokens.length });
    }
    scored.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
    const top = scored.slice(0, limit);
    const people = await this.byIds(assistant, top.map((t) => t.id));
    return top.flatMap((t) => {
      const person = people.get(t.id);
      return person ? [{ person, score: Math.round(t.score * 1000) / 1000 }] : [];
    });
  }

  private async byIds(assistant: string, ids: string[]): Promise<Map<string, Person>> {
    const rows = await this.db.query<PersonRow>(`${SELECT_PERSON} WHERE p.assistant = $1 AND p.id = ANY($2::text[])`, [assistant, ids]);
    return new Map(rows.map((r) => [r.id, this.toPerson(assistant, r)]));
  }

  async get(assistant: string, id: string): Promise<Person | null> {
    const rows = await this.db.query<PersonRow>(`${SELECT_PERSON} WHERE p.assistant = $1 AND p.id = $2`, [assistant, id]);
    return rows[0] ? this.toPerson(assistant, rows[0]) : null;
  }

  async getByEmail(assistant: string, email: string): Promise<Person | null> {
    const rows = await this.db.query<PersonRow>(
      `${SELECT_PERSON} WHERE p.assistant = $1 AND lower(p.email) = lower($2) ORDER BY p.id LIMIT 1`,
      [assistant, email],
    );
    return rows[0] ? this.toPerson(assistant, rows[0]) : null;
  }

  /** The person whose directory URL this is (as cited in an earlier answer), if any. */
  async getByUrl(assistant: string, url: string): Promise<Person | null> {
    const rows = await this.db.query<PersonRow>(`${SELECT_PERSON} WHERE p.assistant = $1 AND p.url = $2 LIMIT 1`, [assistant, url]);
    if (rows[0]) return this.toPerson(assistant, rows[0]);
    if (url.startsWith('mailto:')) return this.getByEmail(assistant, decodeURIComponent(url.slice(7)));
    if (url.startsWith('urn:parley:person:')) return this.get(assistant, decodeURIComponent(url.slice(18)));
    const template = this.templateOf(assistant);
    if (!template) return null;
    // Match the url against the template: the text in place of {id} or {email} names the person.
    const slot = /\{(id|email)\}/.exec(template);
    const prefix = slot ? template.slice(0, slot.index) : template.replace(/\/?$/, '/');
    const suffix = slot ? template.slice(slot.index + slot[0].length) : '';
    if (!url.startsWith(prefix) || !url.endsWith(suffix) || url.length < prefix.length + suffix.length) return null;
    let value: string;
    try {
      value = decodeURIComponent(url.slice(prefix.length, url.length - suffix.length).replace(/[/?#].*$/, ''));
    } catch {
      return null;
    }
    if (!value) return null;
    return slot?.[1] === 'email' ? this.getByEmail(assistant, value) : this.get(assistant, value);
  }

  async directReports(assistant: string, personId: string): Promise<Person[]> {
    const rows = await this.db.query<PersonRow>(
      `${SELECT_PERSON} WHERE p.assistant = $1 AND p.manager_id = $2 ORDER BY p.name, p.id`,
      [assistant, personId],
    );
    return rows.map((r) => this.toPerson(assistant, r));
  }

  async departments(assistant: string): Promise<string[]> {
    const rows = await this.db.query<{ department: string }>(
      `SELECT DISTINCT department FROM kb_people WHERE assistant = $1 AND department <> '' ORDER BY department`,
      [assistant],
    );
    return rows.map((r) => r.department);
  }

  /** The member of the department whose manager is outside it (or who has none); the most senior if several. */
  async departmentHead(assistant: string, department: string): Promise<Person | null> {
    const rows = await this.db.query<PersonRow>(
      `${SELECT_PERSON}
        WHERE p.assistant = $1 AND lower(p.department) = lower($2)
          AND (m.id IS NULL OR lower(m.department) <> lower(p.department))
        ORDER BY (SELECT count(*) FROM kb_people r WHERE r.assistant = p.assistant AND r.manager_id = p.id) DESC, p.id
        LIMIT 1`,
      [assistant, department],
    );
    return rows[0] ? this.toPerson(assistant, rows[0]) : null;
  }
}
