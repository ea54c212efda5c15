/** How a directory entry is cited, and how an earlier answer's citations lead back to the people it was about. */
import type { EngineCitation, HistoryMessage } from '../engine.ts';
import type { RoleSearch, RoleSearchOptions } from '../../knowledge/role-search.ts';
import type { Knowledge, Person } from '../../knowledge/types.ts';

/** Knowledge plus the optional lookups Parley's own knowledge layer offers. */
export interface OfflineKnowledge extends Knowledge {
  getPersonByUrl?(assistant: string, url: string): Promise<Person | null>;
  findPeopleByTitle?(assistant: string, title: string): Promise<{ person: Person; score: number }[]>;
  findPeopleByRole?(assistant: string, question: string, opts?: RoleSearchOptions): Promise<RoleSearch<Person>>;
}

export const DIRECTORY_SOURCE = 'Company directory';

/** The citation of one directory entry: its URL, the entry as the passage, and its main fields as attributes. */
export function personCitation(p: Person): EngineCitation {
  const lines = [
    p.title && `- Title: ${p.title}`,
    p.department && `- Department: ${p.department}`,
    p.location && `- Location: ${p.location}`,
    p.email && `- Email: ${p.email}`,
    p.phone && `- Phone: ${p.phone}`,
    p.managerName && `- Manager: ${p.managerName}`,
  ].filter(Boolean);
  const attributes = [
    p.email && { key: 'EMAIL', value: p.email },
    p.title && { key: 'TITLE', value: p.title },
    p.department && { key: 'DEPARTMENT', value: p.department },
    p.managerName && { key: 'MANAGER', value: p.managerName },
    p.location && { key: 'LOCATION', value: p.location },
    p.phone && { key: 'PHONE', value: p.phone },
    { key: 'SOURCE', value: DIRECTORY_SOURCE },
  ].filter((a): a is { key: string; value: string } => Boolean(a));
  return { key: `person:${p.id}`, url: p.url, title: p.name, body: `**${p.name}**\n\n${lines.join('\n')}`, attributes };
}

function isDirectoryCitation(c: HistoryMessage['citations'][number]): boolean {
  return c.attributes.some((a) => a.key === 'SOURCE' && a.value === DIRECTORY_SOURCE) || c.attributes.some((a) => a.key === 'EMAIL');
}

/** The people an assistant message cited, in citation order (the subject of a people answer comes first). */
export async function peopleCitedIn(k: OfflineKnowledge, assistant: string, m: HistoryMessage): Promise<Person[]> {
  const out: Person[] = [];
  for (const c of m.citations) {
    if (!isDirectoryCitation(c)) continue;
    const email = c.attributes.find((a) => a.key === 'EMAIL')?.value;
    let p: Person | null = null;
    if (k.getPersonByUrl) p = await k.getPersonByUrl(assistant, c.url);
    if (!p && email) p = await k.getPersonByEmail(assistant, email);
    if (p && !out.some((o) => o.id === p!.id)) out.push(p);
  }
  return out;
}
