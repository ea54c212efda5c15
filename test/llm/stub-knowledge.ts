/**
 * A small Knowledge over arrays, so the LLM engine's tests do not depend on the real knowledge layer.
 * It filters documents by access list before ranking, as the real one must, and records every search.
 */
import type { Knowledge, KnowledgeHit, Person, PersonMatch, SearchOptions } from '../../src/knowledge/types.ts';

export interface StubDocument {
  id: string;
  url: string;
  title: string;
  heading?: string;
  text: string;
  updatedAt?: string;
  /** Principals allowed to see it, in stored form: `group:<g>`, `user:<sub>`, `email:<address>`, or `*`. */
  access: string[];
}

export type StubPerson = Omit<Person, 'url' | 'managerName' | 'groups' | 'phone' | 'location'> &
  Partial<Pick<Person, 'phone' | 'location' | 'groups'>>;

export class StubKnowledge implements Knowledge {
  readonly searches: { principals: readonly string[]; query: string }[] = [];
  readonly #docs: StubDocument[];
  readonly #people: Person[];

  constructor(docs: StubDocument[], people: StubPerson[]) {
    this.#docs = docs;
    this.#people = people.map((p) => ({
      phone: '',
      location: '',
      groups: [],
      ...p,
      managerName: people.find((m) => m.id === p.managerId)?.name ?? null,
      url: `https://people.example.com/${p.id}`,
    }));
  }

  async search(_assistant: string, principals: readonly string[], query: string, opts?: SearchOptions): Promise<KnowledgeHit[]> {
    this.searches.push({ principals: [...principals], query });
    const allowed = new Set(principals);
    const words = tokens(query);
    return this.#docs
      .filter((d) => d.access.some((p) => allowed.has(p)))
      .map((d) => {
        const have = new Set(tokens(`${d.title} ${d.text}`));
        return { d, score: words.filter((w) => have.has(w)).length };
      })
      .filter((x) => x.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, opts?.limit ?? 10)
      .map(({ d, score }) => ({
        documentId: d.id,
        chunkId: `${d.id}#0`,
        url: d.url,
        title: d.title,
        heading: d.heading ?? '',
        text: d.text,
        updatedAt: d.updatedAt ?? null,
        score,
      }));
  }

  async findPeople(_assistant: string, query: string, opts?: SearchOptions): Promise<PersonMatch[]> {
    const q = query.toLowerCase();
    return this.#people
      .filter((p) => p.name.toLowerCase().includes(q) || p.email.toLowerCase() === q)
      .map((person) => ({ person, score: person.name.toLowerCase() === q ? 1 : 0.6 }))
      .sort((a, b) => b.score - a.score)
      .slice(0, opts?.limit ?? 10);
  }

  async getPerson(_assistant: string, id: string): Promise<Person | null> {
    return this.#people.find((p) => p.id === id) ?? null;
  }

  async getPersonByEmail(_assistant: string, email: string): Promise<Person | null> {
    return this.#people.find((p) => p.email.toLowerCase() === email.toLowerCase()) ?? null;
  }

  async directReports(_assistant: string, personId: string): Promise<Person[]> {
    return this.#people.filter((p) => p.managerId === personId);
  }

  async departmentHead(_assistant: string, department: string): Promise<Person | null> {
    const inDept = this.#people.filter((p) => p.department === department);
    return inDept.find((p) => !inDept.some((m) => m.id === p.managerId)) ?? null;
  }

  async departments(): Promise<string[]> {
    return [...new Set(this.#people.map((p) => p.department))].sort();
  }
}

function tokens(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 1);
}
