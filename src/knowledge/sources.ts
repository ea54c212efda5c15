/**
 * What ingestion moves around: parsed sources (plain JSON, so the CLI can parse files and POST them to a running
 * server) and the summary of applying them.
 */
import type { Person } from './types.ts';

/** One document, parsed from a file. `body` is CommonMark (HTML is converted), without front matter. */
export interface SourceDocument {
  /** Path relative to the ingested root, `/`-separated: the document's identity within that root. */
  path: string;
  /** Explicit identity from metadata (`id:`); otherwise the document is identified by its url. */
  id?: string | undefined;
  format: 'markdown' | 'text' | 'html';
  title: string;
  /** Absolute URL that citations link to. */
  url: string;
  /** ISO 8601, when the source gives it. */
  updatedAt: string | null;
  /** Principals allowed to see it (user ids, emails, group names, `*`); `['*']` when the source gives none. */
  access: string[];
  /** Keywords the source gives (front matter `tags`/`keywords`); indexed with heading weight. */
  tags?: string[] | undefined;
  body: string;
}

/** One directory entry. `managerId` is resolved by the parser against the same directory (id, email or name). */
export interface SourcePerson extends Omit<Person, 'managerName' | 'url'> {
  /** Directory entry URL when the source gives one; otherwise the configured directory base + id. */
  url: string | null;
}

export interface SourceError {
  path: string;
  reason: string;
}

/** The result of `parseSources`: JSON-serialisable. */
export interface ParsedSources {
  /** Absolute path that was parsed; documents are pruned only within the same root. */
  root: string;
  documents: SourceDocument[];
  /** Empty when the sources hold no people directory. */
  people: SourcePerson[];
  errors: SourceError[];
}

/** What `applyIngest` takes: the body of `POST /admin/v1/ingest`. */
export interface IngestPayload {
  assistant: string;
  /** Identity of the source tree (usually its absolute path); `prune` only touches documents of this root. */
  root: string;
  /** Remove documents of this root (and people) that are not in this ingest. */
  prune: boolean;
  documents: SourceDocument[];
  people: SourcePerson[];
  /**
   * When documents are sent in several batches: every document path of the root, so the last batch (the one with
   * `prune: true`) keeps documents sent by earlier batches. Defaults to the paths of `documents`.
   */
  keepPaths?: string[] | undefined;
  /** Same for people ids when people are sent in batches. Defaults to the ids of `people`. */
  keepPeople?: string[] | undefined;
  /** Errors found while parsing, passed through into the summary. */
  errors?: SourceError[] | undefined;
}

export interface IngestSummary {
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /** People in this ingest (upserted). */
  people: number;
  /**
   * Documents of this ingest by who can see them: `*` (everyone) or each principal of their access lists (a document
   * visible to two groups counts under both).
   */
  visibility: Record<string, number>;
  errors: SourceError[];
}
