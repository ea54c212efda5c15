/** People directories (CSV or JSON) → `SourcePerson`s, with flexible column names and managers resolved. */
import type { SourceError, SourcePerson } from './sources.ts';

/**
 * Recognised column names per field, compared lower-cased with everything but letters and digits removed
 * ("Job Title", "job_title" and "JobTitle" are all `jobtitle`). Documented in the README; `--map` adds others.
 */
export const PERSON_FIELDS: Record<string, string[]> = {
  id: ['id', 'employeeid', 'personid', 'userid', 'uid', 'employeenumber', 'staffid'],
  name: ['name', 'fullname', 'displayname', 'employeename'],
  first: ['firstname', 'givenname', 'first'],
  last: ['lastname', 'surname', 'familyname', 'last'],
  email: ['email', 'mail', 'emailaddress', 'workemail'],
  title: ['title', 'jobtitle', 'role', 'position'],
  department: ['department', 'dept', 'team', 'division', 'org'],
  location: ['location', 'office', 'city', 'site'],
  phone: ['phone', 'phonenumber', 'mobile', 'telephone', 'workphone', 'tel'],
  manager: ['manager', 'managerid', 'manageremail', 'reportsto', 'managername', 'supervisor'],
  groups: ['groups', 'group', 'accessgroups', 'memberof'],
  url: ['url', 'profileurl', 'directoryurl', 'link'],
};

export interface RawPerson extends SourcePerson {
  managerRef: string;
  where: string;
}

/** A column name as compared: lower-cased, letters and digits only. */
export function normalizeColumn(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const KNOWN_COLUMNS = new Set(Object.values(PERSON_FIELDS).flat());

/**
 * Parses `--map` entries (`"Reports To (Name)=manager"`) into normalized column → field. Throws naming a bad entry.
 */
export function parseColumnMap(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.lastIndexOf('=');
    const column = normalizeColumn(eq > 0 ? entry.slice(0, eq) : '');
    const field = eq > 0 ? entry.slice(eq + 1).trim().toLowerCase() : '';
    if (!column || !PERSON_FIELDS[field]) {
      throw new Error(`--map ${JSON.stringify(entry)}: expected "Column name=field" with a field among ${Object.keys(PERSON_FIELDS).join(', ')}`);
    }
    out[column] = field;
  }
  return out;
}

/** Columns of these rows that no field reads (reported, so a mis-named manager column is noticed). */
export function unrecognisedColumns(rows: Record<string, unknown>[], map: Record<string, string> = {}): string[] {
  const seen = new Map<string, string>();
  for (const row of rows.slice(0, 1000)) {
    if (!isRecord(row)) continue;
    for (const k of Object.keys(row)) {
      const n = normalizeColumn(k);
      if (n && !KNOWN_COLUMNS.has(n) && !map[n] && !seen.has(n)) seen.set(n, k);
    }
  }
  return [...seen.values()];
}

/**
 * Rows of a CSV (header row as keys) or JSON directory; `rel` is the file for error locations. `map` (normalized
 * column → field) reads other columns; a mapped column wins over the recognised names of its field.
 */
export function peopleFromRows(rows: Record<string, unknown>[], rel: string, map: Record<string, string> = {}): RawPerson[] {
  const out: RawPerson[] = [];
  const mappedTo = new Map<string, string[]>();
  for (const [column, field] of Object.entries(map)) mappedTo.set(field, [...(mappedTo.get(field) ?? []), column]);
  rows.forEach((row, i) => {
    if (!isRecord(row)) throw new Error(`entry ${i + 1} is not an object`);
    const norm: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) norm[normalizeColumn(k)] = v;
    const get = (field: string): string => {
      for (const k of [...(mappedTo.get(field) ?? []), ...PERSON_FIELDS[field]!]) {
        const v = norm[k];
        if (v === undefined || v === null) continue;
        if (Array.isArray(v)) return v.map(String).join(';');
        return String(v).trim();
      }
      return '';
    };
    const where = `${rel}:${i + 2}`; // CSV line (header is line 1); for JSON, entry number + 1
    let name = get('name');
    if (!name) name = [get('first'), get('last')].filter(Boolean).join(' ');
    const email = get('email').toLowerCase();
    const id = get('id') || (email ? email.split('@')[0]! : '') || slug(name);
    if (!name || !id) {
      out.push({ ...emptyPerson(), where, managerRef: '', name: '', id: '' });
      return;
    }
    const groupsRaw = [...(mappedTo.get('groups') ?? []), ...PERSON_FIELDS['groups']!].map((k) => norm[k]).find((v) => v !== undefined && v !== null);
    const groups = Array.isArray(groupsRaw)
      ? groupsRaw.map((g) => String(g).trim()).filter(Boolean)
      : get('groups').split(/[;|,]/).map((g) => g.trim()).filter(Boolean);
    const url = get('url');
    out.push({
      id,
      name,
      email,
      title: get('title'),
      department: get('department'),
      location: get('location'),
      phone: get('phone'),
      managerId: null,
      groups,
      url: url && /^https?:\/\//.test(url) ? url : null,
      managerRef: get('manager'),
      where,
    });
  });
  return out;
}

function emptyPerson(): SourcePerson {
  return { id: '', name: '', email: '', title: '', department: '', location: '', phone: '', managerId: null, groups: [], url: null };
}

/** Drops invalid and duplicate rows (reported) and resolves managers by id, then email, then exact name. */
export function finishPeople(raw: RawPerson[]): { people: SourcePerson[]; errors: SourceError[] } {
  const errors: SourceError[] = [];
  const byId = new Map<string, RawPerson>();
  for (const p of raw) {
    if (!p.id || !p.name) {
      errors.push({ path: p.where, reason: 'person needs a name (and an id or email)' });
      continue;
    }
    if (byId.has(p.id)) {
      errors.push({ path: p.where, reason: `duplicate person id ${p.id}` });
      continue;
    }
    byId.set(p.id, p);
  }
  const byEmail = new Map<string, string>();
  const byName = new Map<string, string | null>();
  for (const p of byId.values()) {
    if (p.email) byEmail.set(p.email, p.id);
    const n = p.name.toLowerCase();
    byName.set(n, byName.has(n) ? null : p.id);
  }
  const resolved: SourcePerson[] = [];
  for (const p of byId.values()) {
    const { managerRef, where, ...person } = p;
    const ref = managerRef.trim();
    if (ref) {
      const m = byId.has(ref) ? ref : byEmail.get(ref.toLowerCase()) ?? byName.get(ref.toLowerCase()) ?? null;
      if (m && m !== p.id) person.managerId = m;
      else errors.push({ path: where, reason: `manager ${JSON.stringify(ref)} of ${p.name} is not in the directory` });
    }
    resolved.push(person);
  }
  return { people: resolved, errors };
}

function slug(s: string): string {
  return s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
