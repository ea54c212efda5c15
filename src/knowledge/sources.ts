/**
 * What ingestion moves around: parsed sources (plain JSON, so the CLI can parse files and POST them to a running
 * server) and the summary of applying them.
 */
import type { Person } from './types.ts';

/** One document, parsed from a file. `body` is CommonMark (HTML is converted), without front matter. */
export interface SourceDocument {
  /** Path relative to the ingested root, `/`-separated: where the document's file is within its source. */
  path: string;
  /** Explicit identity from metadata (`id:`); otherwise the document is identified by its url. */
  id?: string | undefined;
  format: 'markdown' | 'text' | 'html' | 'pdf' | 'docx';
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
  /**
   * Set when the source itself cannot be read (missing or unreadable root, or a folder in it that cannot be listed):
   * nothing may be applied from it, and above all nothing pruned.
   */
  fatal?: string | undefined;
  /** What the owner should know but is not an error: encodings converted, files of unsupported types skipped. */
  notices?: SourceError[] | undefined;
}

/** What `applyIngest` takes: the body of `POST /admin/v1/ingest`. */
export interface IngestPayload {
  assistant: string;
  /** The source (usually the folder's absolute path); it owns what it brought, and `prune` only touches that. */
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
  /** Allow a prune that removes more than half of the source's documents or people. */
  force?: boolean | undefined;
  /** Plan only: the summary lists `changes`, nothing is written. */
  dryRun?: boolean | undefined;
  /** Who ingests, for the audit (the CLI's OS user, or the admin token's subject). */
  actor?: string | undefined;
}

/** One line of a dry run (or of what an ingest did). */
export interface IngestChange {
  action: 'add' | 'update' | 'remove';
  path: string;
  url: string;
  access: string[];
  /** For an update that moves the document from another source: that source. */
  from?: string | undefined;
}

export interface IngestSummary {
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /** People in this ingest (upserted). */
  people: number;
  /** People of this source removed by the prune. */
  peopleRemoved: number;
  /**
   * Documents of this ingest by who can see them: `*` (everyone) or each principal of their access lists (a document
   * visible to two groups counts under both).
   */
  visibility: Record<string, number>;
  errors: SourceError[];
  /** With `dryRun`: what would be added, updated and removed. */
  changes?: IngestChange[] | undefined;
}
