// Shared by the knowledge and assistant tests: the fixture tree and a helper that ingests it for a fresh assistant.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { parseSources } from '../../src/knowledge/parse.ts';
import type { IngestSummary } from '../../src/knowledge/sources.ts';
import type { Db } from '../../src/store/db.ts';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Ingests fixtures/kb and fixtures/people.csv for `assistant`. */
export async function ingestFixtures(db: Db, assistant: string): Promise<IngestSummary> {
  // The assistant tests expect the fixtures' url-less file under this base (as if configured for the assistant).
  const docs = await parseSources(FIXTURES + 'kb', { documentBaseUrl: 'https://kb.acme.example/' });
  const people = await parseSources(FIXTURES + 'people.csv');
  return applyIngest(db, { assistant, root: docs.root, prune: false, documents: docs.documents, people: people.people });
}

/** A fresh temporary folder holding these files (relative path → contents). */
export function tree(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-ingest-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}
