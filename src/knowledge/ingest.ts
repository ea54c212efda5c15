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
  const summary: IngestSummary = { added: 0, updated: 0, unchanged: 0, removed: 0, people: 0, errors: [...(payload.errors ?? [])] };
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

  let changed = false;
  await db.tx(async (q) => {
    // One ingest per assistant at a time: concurrent ones would race on the same documents.
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['kb:' + assistant]);
    const existing = new Map(
      (await q.query<{ path: string; content_hash: string }>(
        'SELECT path, content_hash FROM kb_documents WHERE assistant = $1 AND root = $2',
        [assistant, root],
      )).map((r) => [r.path, r.content_hash]),
    );
    let done = 0;
    for (const d of docs) {
      const hash = contentHash(d, d.access);
      const prev = existing.get(d.path);
      if (prev === hash) summary.unchanged++;
      else {
        await writeDocument(q, assistant, root, d, hash);
        if (prev === undefined) summary.added++;
        else summary.updated++;
        changed = true;
      }
      opts.onProgress?.(++done, docs.length);
    }
    if (payload.prune) {
      const keep = payload.keepPaths ?? docs.map((d) => d.path);
      const removed = await q.query<{ id: string }>(
        'DELETE FROM kb_documents WHERE assistant = $1 AND root = $2 AND NOT (path = ANY($3::text[])) RETURNING id',
        [assistant, root, keep],
      );
      summary.removed = removed.length;
      if (removed.length) changed = true;
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
    if (changed) await refreshStats(q, assistant);
  });

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

async function writeDocument(q: Queryable, assistant: string, root: string, d: SourceDocument, hash: string): Promise<void> {
  const id = documentId(assistant, root, d.path);
  await q.query('DELETE FROM kb_chunks WHERE document_id = $1', [id]);
  await q.query(
    `INSERT INTO kb_documents (id, assistant, root, path, format, url, title, updated_at, access, content_hash, ingested_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[], $10, now())
     ON CONFLICT (id) DO UPDATE SET format = EXCLUDED.format, url = EXCLUDED.url, title = EXCLUDED.title,
       updated_at = EXCLUDED.updated_at, access = EXCLUDED.access, content_hash = EXCLUDED.content_hash,
       ingested_at = now()`,
    [id, assistant, root, d.path, d.format, d.url, d.title, d.updatedAt, d.access, hash],
  );
  const chunks = chunkDocument(d.title, d.body);
  if (!chunks.length) return;
  await q.query(
    `INSERT INTO kb_chunks (id, document_id, assistant, ord, title, heading, keywords, body, access)
     SELECT $1 || '_' || t.ord, $1, $2, t.ord, $3, t.heading, $8, t.body, $4::text[]
       FROM unnest($5::int[], $6::text[], $7::text[]) AS t(ord, heading, body)`,
    [
      id,
      assistant,
      d.title,
      d.access,
      chunks.map((c) => c.ord),
      chunks.map((c) => c.heading),
      chunks.map((c) => c.text),
      (d.tags ?? []).map((t) => t.replace(/[-_]+/g, ' ')).join(', '),
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

/** Recomputes the per-assistant term statistics and bumps the version that caches watch. */
async function refreshStats(q: Queryable, assistant: string): Promise<void> {
  await q.query('DELETE FROM kb_terms WHERE assistant = $1', [assistant]);
  // ts_stat takes the text of a query; the assistant name is quoted with format('%L').
  await q.query(
    `INSERT INTO kb_terms (assistant, lexeme, df)
     SELECT $1, word, ndoc FROM ts_stat(format('SELECT tsv FROM kb_chunks WHERE assistant = %L', $1::text))`,
    [assistant],
  );
  await q.query(
    `INSERT INTO kb_state (assistant, chunks, version, updated_at)
     VALUES ($1, (SELECT count(*) FROM kb_chunks WHERE assistant = $1), 1, now())
     ON CONFLICT (assistant) DO UPDATE SET chunks = EXCLUDED.chunks, version = kb_state.version + 1, updated_at = now()`,
    [assistant],
  );
}

function describeIssue(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid';
  return `${i.path.join('.') || 'value'}: ${i.message}`;
}
