/** Writing ingested documents and people, and keeping the per-access term statistics in step. */
import type { Queryable } from '../store/db.ts';
import { chunkDocument } from './chunk.ts';
import type { SourceDocument, SourcePerson } from './sources.ts';

/** One document to write: its row id (kept when it already exists), identity and content hash. */
export interface WriteItem {
  d: SourceDocument;
  id: string;
  identity: string;
  hash: string;
}

/** Replaces documents and their passages, a slice of documents per statement (few round trips per ingest). */
export async function writeDocuments(q: Queryable, assistant: string, root: string, items: WriteItem[]): Promise<void> {
  if (!items.length) return;
  const ids = items.map((i) => i.id);
  await q.query('DELETE FROM kb_chunks WHERE document_id = ANY($1::text[])', [ids]);
  await q.query(
    `INSERT INTO kb_documents (id, assistant, root, path, identity, format, url, title, updated_at, access, content_hash, ingested_at)
     SELECT t.id, $1, $2, t.path, t.identity, t.format, t.url, t.title, t.updated_at,
            ARRAY(SELECT jsonb_array_elements_text(t.access::jsonb)), t.hash, now()
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[])
            AS t(id, path, format, url, title, updated_at, access, hash, identity)
     ON CONFLICT (id) DO UPDATE SET root = EXCLUDED.root, path = EXCLUDED.path, identity = EXCLUDED.identity,
       format = EXCLUDED.format, url = EXCLUDED.url, title = EXCLUDED.title,
       updated_at = EXCLUDED.updated_at, access = EXCLUDED.access, content_hash = EXCLUDED.content_hash,
       ingested_at = now()`,
    [
      assistant,
      root,
      ids,
      items.map(({ d }) => d.path),
      items.map(({ d }) => d.format),
      items.map(({ d }) => d.url),
      items.map(({ d }) => d.title),
      items.map(({ d }) => d.updatedAt),
      items.map(({ d }) => JSON.stringify(d.access)),
      items.map(({ hash }) => hash),
      items.map(({ identity }) => identity),
    ],
  );
  const rows: { id: string; doc: string; ord: number; title: string; heading: string; keywords: string; body: string; access: string }[] = [];
  items.forEach(({ d }, i) => {
    const keywords = (d.tags ?? []).map((t) => t.replace(/[-_]+/g, ' ')).join(', ');
    const access = JSON.stringify(d.access);
    for (const c of chunkDocument(d.title, d.body)) {
      rows.push({ id: `${ids[i]}_${c.ord}`, doc: ids[i]!, ord: c.ord, title: d.title, heading: c.heading, keywords, body: c.text, access });
    }
  });
  if (!rows.length) return;
  await q.query(
    `INSERT INTO kb_chunks (id, document_id, assistant, ord, title, heading, keywords, body, access)
     SELECT t.id, t.doc, $1, t.ord, t.title, t.heading, t.keywords, t.body, ARRAY(SELECT jsonb_array_elements_text(t.access::jsonb))
       FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
            AS t(id, doc, ord, title, heading, keywords, body, access)`,
    [
      assistant,
      rows.map((r) => r.id),
      rows.map((r) => r.doc),
      rows.map((r) => r.ord),
      rows.map((r) => r.title),
      rows.map((r) => r.heading),
      rows.map((r) => r.keywords),
      rows.map((r) => r.body),
      rows.map((r) => r.access),
    ],
  );
}

export async function upsertPeople(q: Queryable, assistant: string, source: string, people: SourcePerson[]): Promise<void> {
  const col = <K extends keyof SourcePerson>(k: K) => people.map((p) => p[k]);
  await q.query(
    `INSERT INTO kb_people (assistant, source, id, name, email, title, department, location, phone, manager_id, groups, url)
     SELECT $1, $12, t.id, t.name, t.email, t.title, t.department, t.location, t.phone, t.manager_id,
            ARRAY(SELECT jsonb_array_elements_text(t.groups::jsonb)), t.url
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                   $10::text[], $11::text[]) AS t(id, name, email, title, department, location, phone, manager_id, groups, url)
     ON CONFLICT (assistant, id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, title = EXCLUDED.title,
       department = EXCLUDED.department, location = EXCLUDED.location, phone = EXCLUDED.phone,
       manager_id = EXCLUDED.manager_id, groups = EXCLUDED.groups, url = EXCLUDED.url, source = EXCLUDED.source`,
    [
      assistant,
      col('id'),
      col('name'),
      col('email'),
      col('title'),
      col('department'),
      col('location'),
      col('phone'),
      // A manager outside this batch may already be stored (batched ingests): keep the reference as given.
      col('managerId'),
      people.map((p) => JSON.stringify(p.groups)),
      col('url'),
      source,
    ],
  );
}

/**
 * Adds (sign 1) or removes (sign -1) the passages of these documents to/from the term statistics: per access list,
 * the number of passages and, per lexeme, the number of passages containing it.
 */
export async function adjustStats(
  q: Queryable, assistant: string, documentIds: string[], sign: 1 | -1, opts: { dropEmpty?: boolean } = {},
): Promise<void> {
  await q.query(
    `INSERT INTO kb_term_sets (assistant, access, chunks)
     SELECT $1, access, $3 * count(*) FROM kb_chunks WHERE document_id = ANY($2::text[]) GROUP BY access
     ON CONFLICT (assistant, access) DO UPDATE SET chunks = kb_term_sets.chunks + EXCLUDED.chunks`,
    [assistant, documentIds, sign],
  );
  // ts_stat (C) counts lexemes much faster than unnest + GROUP BY; it takes the text of a query, quoted with %L.
  const sets = await q.query<{ access: string[] }>('SELECT DISTINCT access FROM kb_chunks WHERE document_id = ANY($1::text[])', [documentIds]);
  for (const { access } of sets) {
    await q.query(
      `INSERT INTO kb_terms (assistant, access, lexeme, df)
       SELECT $1, $2::text[], word, $4 * ndoc
         FROM ts_stat(format('SELECT tsv FROM kb_chunks WHERE document_id = ANY(%L::text[]) AND access = %L::text[]', $3::text[], $2::text[]))
       ON CONFLICT (assistant, lexeme, access) DO UPDATE SET df = kb_terms.df + EXCLUDED.df`,
      [assistant, access, documentIds, sign],
    );
  }
  // Dropping emptied rows scans the assistant's statistics: callers moving many slices do it once at the end.
  if (sign < 0 && opts.dropEmpty !== false) await dropEmptyStats(q, assistant);
}

/** Removes statistics rows that no passage counts any more. */
export async function dropEmptyStats(q: Queryable, assistant: string): Promise<void> {
  await q.query('DELETE FROM kb_terms WHERE assistant = $1 AND df <= 0', [assistant]);
  await q.query('DELETE FROM kb_term_sets WHERE assistant = $1 AND chunks <= 0', [assistant]);
}

/** Bumps the version that in-process caches (the people matcher) watch. */
export async function bumpVersion(q: Queryable, assistant: string): Promise<void> {
  await q.query(
    `INSERT INTO kb_state (assistant, version, updated_at) VALUES ($1, 1, now())
     ON CONFLICT (assistant) DO UPDATE SET version = kb_state.version + 1, updated_at = now()`,
    [assistant],
  );
}
