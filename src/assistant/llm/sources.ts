/**
 * The sources one answer has seen, numbered [1], [2], … in the order the tools returned them. A document or
 * a person keeps its number for the whole answer, so the model's markers resolve to the same citation.
 */
import type { CitationAttribute, EngineCitation, EngineReference } from '../engine.ts';
import type { KnowledgeHit, Person } from '../../knowledge/types.ts';
import { codePointLength, truncateCodePoints } from '../text.ts';
import type { MarkerRef } from './markers.ts';

const MAX_BODY = 2000;

interface Source {
  n: number;
  key: string;
  url: string;
  title: string;
  /** Distinct passages relied on (chunks of one document, or a person's summary). */
  passages: string[];
  attributes: CitationAttribute[];
}

export class SourceRegistry {
  readonly #byKey = new Map<string, Source>();
  readonly #byNumber = new Map<number, Source>();

  /** Registers a retrieved chunk; returns its document's number. */
  addHit(hit: KnowledgeHit): number {
    const attributes: CitationAttribute[] = [];
    if (hit.updatedAt) attributes.push({ key: 'UPDATE_DATETIME', value: hit.updatedAt });
    const host = hostOf(hit.url);
    if (host) attributes.push({ key: 'SOURCE', value: host });
    const source = this.#register(`doc:${hit.documentId}`, hit.url, hit.title, attributes);
    if (hit.text && !source.passages.includes(hit.text)) source.passages.push(hit.text);
    return source.n;
  }

  /** Registers a directory entry; returns its number. */
  addPerson(p: Person): number {
    const attributes: CitationAttribute[] = [];
    if (p.email) attributes.push({ key: 'EMAIL', value: p.email });
    if (p.managerName) attributes.push({ key: 'MANAGER', value: p.managerName });
    if (p.department) attributes.push({ key: 'DEPARTMENT', value: p.department });
    if (p.title) attributes.push({ key: 'TITLE', value: p.title });
    const source = this.#register(`person:${p.id}`, p.url, p.name, attributes);
    if (source.passages.length === 0) source.passages.push(personSummary(p));
    return source.n;
  }

  get size(): number {
    return this.#byNumber.size;
  }

  /**
   * Turns marker refs into references and citations: numbers that match no source are dropped, only
   * referenced sources become citations (in order of first reference), one per source.
   */
  resolve(refs: readonly MarkerRef[], textLength: number): { citations: EngineCitation[]; references: EngineReference[] } {
    const citations: EngineCitation[] = [];
    const references: EngineReference[] = [];
    const cited = new Set<string>();
    const placed = new Set<string>();
    for (const ref of refs) {
      const source = this.#byNumber.get(ref.n);
      if (!source) continue;
      const offset = Math.min(ref.offset, textLength);
      const at = `${source.key}@${offset}`;
      if (placed.has(at)) continue;
      placed.add(at);
      references.push({ key: source.key, offset });
      if (!cited.has(source.key)) {
        cited.add(source.key);
        citations.push(toCitation(source));
      }
    }
    return { citations, references };
  }

  #register(key: string, url: string, title: string, attributes: CitationAttribute[]): Source {
    const known = this.#byKey.get(key);
    if (known) return known;
    const source: Source = { n: this.#byNumber.size + 1, key, url, title, passages: [], attributes };
    this.#byKey.set(key, source);
    this.#byNumber.set(source.n, source);
    return source;
  }
}

/** One line about a person, used as the citation body and in tool results. */
export function personSummary(p: Person): string {
  const role = [p.title, p.department && `in ${p.department}`].filter(Boolean).join(' ');
  let line = role ? `${p.name} is ${role}` : p.name;
  if (p.managerName) line += `, reporting to ${p.managerName}`;
  return `${line}.`;
}

function toCitation(s: Source): EngineCitation {
  let body = s.passages.join('\n\n');
  if (codePointLength(body) > MAX_BODY) body = `${truncateCodePoints(body, MAX_BODY - 1)}…`;
  return { key: s.key, url: s.url, title: s.title, body, attributes: s.attributes.map((a) => ({ ...a })) };
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname || null;
  } catch {
    return null;
  }
}
