// Shared by the knowledge and assistant tests: the fixture tree and a helper that ingests it for a fresh assistant.
import { fileURLToPath } from 'node:url';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { parseSources } from '../../src/knowledge/parse.ts';
import type { IngestSummary } from '../../src/knowledge/sources.ts';
import type { Db } from '../../src/store/db.ts';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Ingests fixtures/kb and fixtures/people.csv for `assistant`. */
export async function ingestFixtures(db: Db, assistant: string): Promise<IngestSummary> {
  const docs = parseSources(FIXTURES + 'kb');
  const people = parseSources(FIXTURES + 'people.csv');
  return applyIngest(db, { assistant, root: docs.root, prune: false, documents: docs.documents, people: people.people });
}
