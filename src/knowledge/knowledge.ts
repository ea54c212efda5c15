/** The knowledge layer behind the `Knowledge` interface: passages with access lists and the people directory. */
import type { Db } from '../store/db.ts';
import { createEmbedder, type Embedder, type EmbeddingsConfig, type VectorStore } from './embeddings.ts';
import { applyIngest } from './ingest.ts';
import { Directory } from './people.ts';
import type { RoleSearch, RoleSearchOptions } from './role-search.ts';
import { searchPassages } from './search.ts';
import type { IngestPayload, IngestSummary } from './sources.ts';
import type { Knowledge, Person, PersonMatch } from './types.ts';

export interface KnowledgeOptions {
  /** OpenAI-compatible embeddings endpoint: dense retrieval fused with full text. */
  embeddings?: EmbeddingsConfig | undefined;
  /**
   * Where passage vectors are kept: `auto` (default) uses pgvector when the database has it, else a plain column
   * scanned in process (dense.ts); `plain` forces the latter.
   */
  vectorStore?: 'auto' | VectorStore | undefined;
  /** Warnings from dense retrieval and embedding at ingest. */
  log?: ((msg: string) => void) | undefined;
  /** Directory entry URL (template with `{id}`/`{email}`, or a base) per assistant, for people whose data gives none. */
  directoryUrls?: Readonly<Record<string, string>> | undefined;
  /** The same for assistants without an entry in `directoryUrls`; unset: `mailto:` the person's email. */
  directoryBaseUrl?: string | undefined;
}

/** Parley's Knowledge, with a few additions the offline engine and the ingest endpoint use. */
export interface ParleyKnowledge extends Knowledge {
  /** The directory entry an earlier answer cited, by its URL. */
  getPersonByUrl(assistant: string, url: string): Promise<Person | null>;
  /** People whose job title contains every word asked for ("CTO", "VP of Sales"); acronyms expanded. */
  findPeopleByTitle(assistant: string, title: string): Promise<PersonMatch[]>;
  /** People a question describes by title, department and site words (the directory's own vocabulary). */
  findPeopleByRole(assistant: string, question: string, opts?: RoleSearchOptions): Promise<RoleSearch<Person>>;
  /** Applies parsed sources (see `applyIngest`), embedding new passages when embeddings are configured. */
  ingest(payload: IngestPayload): Promise<IngestSummary>;
}

/** Builds the knowledge layer on a migrated database. */
export function createKnowledge(db: Db, opts: KnowledgeOptions = {}): ParleyKnowledge {
  const directory = new Directory(db, opts.directoryUrls, opts.directoryBaseUrl);
  const embedder: Embedder | undefined = opts.embeddings ? createEmbedder(opts.embeddings) : undefined;
  const vectorStore: VectorStore = opts.vectorStore === 'plain' || (opts.vectorStore !== 'pgvector' && !db.hasVector) ? 'plain' : 'pgvector';
  if (vectorStore === 'pgvector' && !db.hasVector) throw new Error('vectorStore pgvector needs the pgvector extension');
  return {
    search: (assistant, principals, query, o) =>
      searchPassages(db, { assistant, principals, query, limit: o?.limit ?? 8, embedder, vectorStore, log: opts.log }),
    findPeople: (assistant, query, o) => directory.find(assistant, query, o?.limit ?? 5),
    getPerson: (assistant, id) => directory.get(assistant, id),
    getPersonByEmail: (assistant, email) => directory.getByEmail(assistant, email),
    getPersonByUrl: (assistant, url) => directory.getByUrl(assistant, url),
    findPeopleByTitle: (assistant, title) => directory.findByTitle(assistant, title),
    findPeopleByRole: (assistant, question, o) => directory.findByRole(assistant, question, o),
    directReports: (assistant, id) => directory.directReports(assistant, id),
    departmentHead: (assistant, department) => directory.departmentHead(assistant, department),
    departments: (assistant) => directory.departments(assistant),
    ingest: (payload) => applyIngest(db, payload, { embedder, vectorStore, log: opts.log }),
  };
}
