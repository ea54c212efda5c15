/** The demo data shipped in the repository's demo/ folder, loaded into an assistant that has no documents yet. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from '../store/db.ts';
import type { Embedder } from './embeddings.ts';
import { applyIngest } from './ingest.ts';
import { parseSources } from './parse.ts';
import { DEMO_DIRECTORY_BASE_URL } from './people.ts';
import type { IngestSummary } from './sources.ts';

export const DEMO_DOCUMENT_BASE_URL = 'https://kb.acme.example/';

/** Resolved from this file, not the working directory: src/knowledge/ → ../../demo/. */
export const DEMO_DIR = fileURLToPath(new URL('../../demo/', import.meta.url));

export interface DemoOptions {
  /** Another demo folder (tests); defaults to the repository's demo/. */
  dir?: string | undefined;
  embedder?: Embedder | undefined;
}

/**
 * Ingests demo/people.csv (or people.json) and demo/knowledge/** for `assistant` when it has no documents yet.
 * Returns null when there was nothing to do (documents exist, or the demo folder is missing).
 */
export async function loadDemoData(db: Db, assistant: string, opts: DemoOptions = {}): Promise<IngestSummary | null> {
  const dir = (opts.dir ?? DEMO_DIR).replace(/\/?$/, '/');
  const existing = await db.query('SELECT 1 FROM kb_documents WHERE assistant = $1 LIMIT 1', [assistant]);
  if (existing.length) return null;
  const knowledgeDir = dir + 'knowledge';
  if (!existsSync(knowledgeDir)) return null;
  // The demo's own (fictional) addresses: stored with its documents and people, so no other data ever gets them.
  const docs = await parseSources(knowledgeDir, { documentBaseUrl: DEMO_DOCUMENT_BASE_URL });
  const peopleFile = ['people.csv', 'people.json'].map((f) => dir + f).find((f) => existsSync(f));
  const people = peopleFile ? await parseSources(peopleFile) : { people: [], errors: [] };
  for (const p of people.people) p.url ??= DEMO_DIRECTORY_BASE_URL + encodeURIComponent(p.id);
  return applyIngest(
    db,
    {
      assistant,
      // A fixed root, so the demo keeps its identity wherever the repository is checked out.
      root: 'demo:knowledge',
      prune: false,
      documents: docs.documents,
      people: people.people,
      errors: [...docs.errors, ...people.errors],
    },
    { embedder: opts.embedder },
  );
}
