/**
 * Layer 2 of ingestion: applies parsed sources to the database in one transaction per call. Unchanged documents
 * (same content hash) are skipped, changed ones replaced, and with `prune` documents of the same root that are no
 * longer present are removed. Safe to call from a running server (`POST /admin/v1/ingest`).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Db, Queryable } from '../store/db.ts';
import { CHUNKER_VERSION, chunkDocument } from './chunk.ts';
import { embedMissingChunks, type Embedder } from './embeddings.ts';
import type { IngestPayload, IngestSummary, SourceDocument, SourcePerson } from './sources.ts';

const documentSchema = z.object({
  path: z.string().min(1).max(1000),
  id: z.string().min(1).max(1000).optional(),
  format: z.enum(['markdown', 'text', 'html']),
  title: z.string().min(1).max(1000),
  url: z.string().regex(/^https?:\/\/\S+$/i, 'must be an absolute http(s) URL').max(2000),
  updatedAt: z.string().nullable().refine((s) => s === null || !Number.isNaN(Date.parse(s)), 'must be an ISO date'),
  access: z.array(z.string().min(1).max(320)).max(1000),
  tags: z.array(z.string().max(200)).max(200).optional(),
  body: z.string().min(1),
});

const personSchema = z.object({
  id: z.string().min(1).max(200),
  name: z.string().min(1).max(300),
  email: z.string().max(320),
  title: z.string().max(300),
  department: z.string().max(300),
  location: z.string().max(300),
  phone: z.string().max(100),
  managerId: z.string().max(200).nullable(),
  groups: z.array(z.string().max(200)).max(500),
  url: z.string().max(2000).nullable(),
});

/** Shape of the ingest payload (the body of `POST /admin/v1/ingest`); documents and people are checked one by one. */
export const ingestPayloadSchema = z.object({
  assistant: z.string().min(1).max(200),
  root: z.string().min(1).max(4000),
  prune: z.boolean().default(false),
  documents: z.array(z.unknown()).default([]),
  people: z.array(z.unknown()).default([]),
  keepPaths: z.array(z.string()).optional(),
  keepPeople: z.array(z.string()).optional(),
  errors: z.array(z.object({ path: z.string(), reason: z.string() })).optional(),
});

/** Documents written per statement. */
const WRITE_SLICE = 100;

export interface ApplyOptions {
  /** When set (and the database has pgvector), new passages are embedded after the transaction. */
  embedder?: Embedder | undefined;
  /** Called after each document is handled. */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/** Stable id of a document: the same file of the same root for the same assistant keeps its id. */
export function documentId(assistant: string, root: string, path: string): string {
  return 'doc_' + createHash('sha256').update(`${assistant}\u0000${root}\u0000${path}`).digest('hex').slice(0, 24);
}

function contentHash(d: SourceDocument, access: string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([CHUNKER_VERSION, d.format, d.title, d.url, d.updatedAt, access, d.tags ?? [], d.body]))
    .digest('hex');
}

/** Applies parsed documents and people for one assistant. Invalid entries are reported in `errors`, not thrown. */
export async function applyIngest(db: Db, payload: IngestPayload, opts: ApplyOptions = {}): Promise<IngestSummary> {
  const summary: IngestSummary = { added: 0, updated: 0, unchanged: 0, removed: 0, people: 0, visibility: {}, errors: [...(payload.errors ?? [])] };
  const { assistant, root } = payload;
  if (!assistant || !root) throw new Error('ingest needs an assistant and a root');

  const docs: (SourceDocument & { access: string[] })[] = [];
  const seenPaths = new Set<string>();
  for (const raw of payload.documents) {
    const parsed = documentSchema.safeParse(raw);
    const path = typeof (raw as { path?: unknown })?.path === 'string' ? (raw as { path: string }).path : '(document)';
    if (!parsed.success) {
      summary.errors.push({ path, reason: describeIssue(parsed.error) });
      continue;
    }
    if (seenPaths.has(parsed.data.path)) {
      summary.errors.push({ path, reason: 'duplicate document path in this ingest' });
      continue;
    }
    seenPaths.add(parsed.data.path);
    const access = normalizeAccess(parsed.data.access);
    for (const a of access) summary.visibility[a] = (summary.visibility[a] ?? 0) + 1;
    docs.push({ ...parsed.data, access });
  }
  const people: SourcePerson[] = [];
  const seenPeople = new Set<string>();
  for (const raw of payload.people) {
    const parsed = personSchema.safeParse(raw);
    const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : '(person)';
    if (!parsed.success || seenPeople.has(parsed.data.id)) {
      summary.errors.push({ path: `person ${id}`, reason: parsed.success ? 'duplicate person id' : describeIssue(parsed.error) });
      continue;
    }
    seenPeople.add(parsed.data.id);
    people.push({ ...parsed.data, email: parsed.data.email.toLowerCase() });
  }

  await db.tx(async (q) => {
    // One ingest per assistant at a time: concurrent ones would race on the same documents and statistics.
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['kb:' + assistant]);
    const existing = new Map(
      (await q.query<{ path: string; content_hash: string }>(
        'SELECT path, content_hash FROM kb_documents WHERE assistant = $1 AND root = $2',
        [assistant, root],
      )).map((r) => [r.path, r.content_hash]),
    );
    const changedDocs: { d: SourceDocument; hash: string }[] = [];
    for (const d of docs) {
      const hash = contentHash(d, d.access);
      const prev = existing.get(d.path);
      if (prev === hash) summary.unchanged++;
      else {
        changedDocs.push({ d, hash });
        if (prev === undefined) summary.added++;
        else summary.updated++;
      }
    }
    // Term statistics move by the passages that leave and arrive (not recomputed), so batches stay cheap.
    const replaced = changedDocs.filter((c) => existing.has(c.d.path)).map((c) => documentId(assistant, root, c.d.path));
    if (replaced.length) await adjustStats(q, assistant, replaced, -1);
    let done = summary.unchanged;
    for (let i = 0; i < changedDocs.length; i += WRITE_SLICE) {
      const slice = changedDocs.slice(i, i + WRITE_SLICE);
      await writeDocuments(q, assistant, root, slice);
      done += slice.length;
      opts.onProgress?.(done, docs.length);
    }
    if (!changedDocs.length && docs.length) opts.onProgress?.(docs.length, docs.length);
    if (changedDocs.length) await adjustStats(q, assistant, changedDocs.map((c) => documentId(assistant, root, c.d.path)), 1);
    let changed = changedDocs.length > 0;
    if (payload.prune) {
      const keep = payload.keepPaths ?? docs.map((d) => d.path);
      const gone = await q.query<{ id: string }>(
        'SELECT id FROM kb_documents WHERE assistant = $1 AND root = $2 AND NOT (path = ANY($3::text[]))',
        [assistant, root, keep],
      );
      if (gone.length) {
        const ids = gone.map((g) => g.id);
        await adjustStats(q, assistant, ids, -1);
        await q.query('DELETE FROM kb_documents WHERE id = ANY($1::text[])', [ids]);
        summary.removed = ids.length;
        changed = true;
      }
    }
    if (people.length) {
      await upsertPeople(q, assistant, people);
      summary.people = people.length;
      changed = true;
    }
    if (payload.prune && (people.length || payload.keepPeople)) {
      const keep = payload.keepPeople ?? people.map((p) => p.id);
      const gone = await q.query<{ id: string }>(
        'DELETE FROM kb_people WHERE assistant = $1 AND NOT (id = ANY($2::text[])) RETURNING id',
        [assistant, keep],
      );
      if (gone.length) changed = true;
    }
    if (changed) await bumpVersion(q, assistant);
  });

  if (summary.added + summary.updated > 0) {
    // New index entries wait in the GIN pending list, which every search then scans linearly: merge them now,
    // so the first questions after an ingest are as fast as the later ones.
    await db.query(`SELECT gin_clean_pending_list('kb_chunks_tsv_idx'::regclass)`).catch(() => undefined);
  }

  if (opts.embedder && db.hasVector) {
    try {
      await embedMissingChunks(db, assistant, opts.embedder);
    } catch (err) {
      // Full-text search still works; missing vectors are filled in by the next ingest.
      summary.errors.push({ path: '(embeddings)', reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return summary;
}

/** Emails and group names match case-insensitively: access lists are stored lower-cased, sorted, de-duplicated. */
export function normalizeAccess(access: readonly string[]): string[] {
  const out = new Set(access.map((a) => a.trim().toLowerCase()).filter(Boolean));
  return out.size ? [...out].sort() : ['*'];
}

/** Replaces documents and their passages, a slice of documents per statement (few round trips per ingest). */
async function writeDocuments(q: Queryable, assistant: string, root: string, items: { d: SourceDocument; hash: string }[]): Promise<void> {
  if (!items.length) return;
  const ids = items.map(({ d }) => documentId(assistant, root, d.path));
  await q.query('DELETE FROM kb_chunks WHERE document_id = ANY($1::text[])', [ids]);
  await q.query(
    `INSERT INTO kb_documents (id, assistant, root, path, format, url, title, updated_at, access, content_hash, ingested_at)
     SELECT t.id, $1, $2, t.path, t.format, t.url, t.title, t.updated_at,
            ARRAY(SELECT jsonb_array_elements_text(t.access::jsonb)), t.hash, now()
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[])
            AS t(id, path, format, url, title, updated_at, access, hash)
     ON CONFLICT (id) DO UPDATE SET format = EXCLUDED.format, url = EXCLUDED.url, title = EXCLUDED.title,
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

async function upsertPeople(q: Queryable, assistant: string, people: SourcePerson[]): Promise<void> {
  const col = <K extends keyof SourcePerson>(k: K) => people.map((p) => p[k]);
  await q.query(
    `INSERT INTO kb_people (assistant, id, name, email, title, department, location, phone, manager_id, groups, url)
     SELECT $1, t.id, t.name, t.email, t.title, t.department, t.location, t.phone, t.manager_id,
            ARRAY(SELECT jsonb_array_elements_text(t.groups::jsonb)), t.url
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                   $10::text[], $11::text[]) AS t(id, name, email, title, department, location, phone, manager_id, groups, url)
     ON CONFLICT (assistant, id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, title = EXCLUDED.title,
       department = EXCLUDED.department, location = EXCLUDED.location, phone = EXCLUDED.phone,
       manager_id = EXCLUDED.manager_id, groups = EXCLUDED.groups, url = EXCLUDED.url`,
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
    ],
  );
}

/**
 * Adds (sign 1) or removes (sign -1) the passages of these documents to/from the term statistics: per access list,
 * the number of passages and, per lexeme, the number of passages containing it.
 */
async function adjustStats(q: Queryable, assistant: string, documentIds: string[], sign: 1 | -1): Promise<void> {
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
  if (sign < 0) {
    await q.query('DELETE FROM kb_terms WHERE assistant = $1 AND df <= 0', [assistant]);
    await q.query('DELETE FROM kb_term_sets WHERE assistant = $1 AND chunks <= 0', [assistant]);
  }
}

/** Bumps the version that in-process caches (the people matcher) watch. */
async function bumpVersion(q: Queryable, assistant: string): Promise<void> {
  await q.query(
    `INSERT INTO kb_state (assistant, version, updated_at) VALUES ($1, 1, now())
     ON CONFLICT (assistant) DO UPDATE SET version = kb_state.version + 1, updated_at = now()`,
    [assistant],
  );
}

function describeIssue(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid';
  return `${i.path.join('.') || 'value'}: ${i.message}`;
}
