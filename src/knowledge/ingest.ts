/**
 * Layer 2 of ingestion: applies parsed sources to the database in one transaction per call.
 *
 * Identity: a document is its `id` (from metadata) or else its `url`, wherever its file lives. The same document
 * from another folder replaces the stored one (and now belongs to that folder). Unchanged documents (same content
 * hash, same place) are skipped. A source (the root path) owns what it brought: `prune` removes only documents and
 * people of that source that are no longer present, and refuses (without writing anything) to remove more than
 * half of a source unless `force` is set. Every call that writes is recorded in `kb_ingests`.
 * Safe to call from a running server (`POST /admin/v1/ingest`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { yieldToEventLoop } from '../store/yield.ts';
import type { Db, Queryable } from '../store/db.ts';
import { CHUNKER_VERSION } from './chunk.ts';
import { embedMissingChunks, type Embedder, type VectorStore } from './embeddings.ts';
import { inBulk } from '../store/priority.ts';
import { checkpointIfWalGrew } from '../store/wal.ts';
import { compactKnowledge } from './compact.ts';
import { SLICE_DOCS, sliceIds, sliceWrites, withAssistantLock } from './ingest-slices.ts';
import { adjustStats, bumpVersion, dropEmptyStats, upsertPeople, writeDocuments, type WriteItem } from './ingest-write.ts';
import { parseAccessList } from './principals.ts';
import type { IngestPayload, IngestSummary, SourceDocument, SourcePerson } from './sources.ts';

const documentSchema = z.object({
  path: z.string().min(1).max(1000),
  id: z.string().min(1).max(1000).optional(),
  format: z.enum(['markdown', 'text', 'html', 'pdf', 'docx']),
  title: z.string().min(1).max(1000),
  url: z.string().regex(/^(https?:\/\/|urn:parley:doc:)\S+$/i, 'must be an absolute http(s) URL').max(2000),
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
  force: z.boolean().optional(),
  dryRun: z.boolean().optional(),
  actor: z.string().max(320).optional(),
  errors: z.array(z.object({ path: z.string(), reason: z.string() })).optional(),
});

/** Removals (documents, or people) after which the tables are compacted (compact.ts). */
const VACUUM_AFTER = 200;
/** PostgreSQL: documents whose passages move the term statistics together (one transaction per call there). */
const STATS_DOCS = 256;
/** Documents validated and hashed between two yields. */
const CHECK_SLICE = 25;
/** Removed ids kept in one audit record (the counts are always exact). */
const AUDIT_IDS = 10_000;

export interface ApplyOptions {
  /** When set, new passages are embedded after the transaction (batched; failures are reported, never fatal). */
  embedder?: Embedder | undefined;
  /** Where vectors go: pgvector's table when the database has it, else the plain one (default: by the database). */
  vectorStore?: VectorStore | undefined;
  /** Warnings (embedding failures). */
  log?: ((msg: string) => void) | undefined;
  /** Called after each document is handled. */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/** A refused ingest (prune over the limit): nothing was written. */
export class IngestRefused extends Error {
  override name = 'IngestRefused';
}

/** Row id of a new document: derived from assistant and identity, so every node computes the same one. */
export function documentId(assistant: string, identity: string): string {
  return 'doc_' + createHash('sha256').update(`${assistant}\u0000${identity}`).digest('hex').slice(0, 24);
}

/** What makes a document the same document: its explicit id, else its url. */
export function identityOf(d: Pick<SourceDocument, 'id' | 'url'>): string {
  return d.id ?? d.url;
}

function contentHash(d: SourceDocument, access: string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([CHUNKER_VERSION, d.format, d.title, d.url, d.updatedAt, access, d.tags ?? [], d.body]))
    .digest('hex');
}

interface ExistingDoc {
  id: string;
  identity: string;
  root: string;
  path: string;
  url: string;
  access: string[];
  content_hash: string;
}

/** Applies parsed documents and people for one assistant. Invalid entries are reported in `errors`, not thrown. */
export function applyIngest(db: Db, payload: IngestPayload, opts: ApplyOptions = {}): Promise<IngestSummary> {
  // Bulk work: on the embedded database, requests' and answers' statements go ahead of an ingest's.
  return inBulk(() => applyIngestNow(db, payload, opts));
}

async function applyIngestNow(db: Db, payload: IngestPayload, opts: ApplyOptions): Promise<IngestSummary> {
  const summary: IngestSummary = {
    added: 0, updated: 0, unchanged: 0, removed: 0, people: 0, peopleRemoved: 0, visibility: {}, errors: [...(payload.errors ?? [])],
  };
  const { assistant, root } = payload;
  if (!assistant || !root) throw new Error('ingest needs an assistant and a root');
  const dryRun = Boolean(payload.dryRun);
  if (dryRun) summary.changes = [];

  const docs: (SourceDocument & { access: string[]; identity: string })[] = [];
  const seen = new Map<string, string>();
  let checked = 0;
  for (const raw of payload.documents) {
    if (++checked % CHECK_SLICE === 0) await yieldToEventLoop();
    const parsed = documentSchema.safeParse(raw);
    const path = typeof (raw as { path?: unknown })?.path === 'string' ? (raw as { path: string }).path : '(document)';
    if (!parsed.success) {
      summary.errors.push({ path, reason: describeIssue(parsed.error) });
      continue;
    }
    const identity = identityOf(parsed.data);
    const other = seen.get(identity);
    if (other !== undefined) {
      summary.errors.push({ path, reason: other === path ? 'duplicate document path in this ingest' : `same document as ${other} (same ${parsed.data.id ? 'id' : 'url'}): not ingested twice` });
      continue;
    }
    seen.set(identity, path);
    let access: string[];
    try {
      access = normalizeAccess(parsed.data.access);
    } catch (err) {
      summary.errors.push({ path, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    for (const a of access) summary.visibility[a] = (summary.visibility[a] ?? 0) + 1;
    docs.push({ ...parsed.data, access, identity });
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

  // PostgreSQL: the whole call is one transaction (statements run off the main thread). Embedded database: a
  // transaction holds the one PGlite connection, so every question would wait for the whole batch; there the plan
  // and then each slice commit on their own, one ingest per assistant at a time by an in-process lock (the only
  // process using that database). Each slice is consistent on its own (documents, passages and statistics move
  // together); a batch cut short is completed by running the ingest again.
  const embedded = db.kind === 'embedded';
  const run = async (q: Queryable): Promise<void> => {
    const plan = await planIngest(q);
    if (plan) await writePlan(plan, embedded ? (fn) => db.tx(fn) : (fn) => fn(q));
  };
  if (embedded) await withAssistantLock(assistant, () => run(db));
  else await db.tx(run);

  interface Plan { writes: WriteItem[]; replacedBy: Map<string, boolean>; gone: ExistingDoc[]; peopleGone: string[] }

  async function planIngest(outer: Queryable): Promise<Plan | undefined> {
  return (embedded ? (fn: (q: Queryable) => Promise<Plan | undefined>) => db.tx(fn) : (fn: (q: Queryable) => Promise<Plan | undefined>) => fn(outer))(async (q) => {
    // One ingest per assistant at a time: concurrent ones would race on the same documents and statistics.
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['kb:' + assistant]);
    const existing = await q.query<ExistingDoc>(
      `SELECT id, identity, root, path, url, access, content_hash FROM kb_documents
        WHERE assistant = $1 AND (root = $2 OR identity = ANY($3::text[]))`,
      [assistant, root, docs.map((d) => d.identity)],
    );
    const byIdentity = new Map(existing.map((e) => [e.identity, e]));
    const incoming = new Set(docs.map((d) => d.identity));
    const paths = new Set(docs.map((d) => d.path));
    const writes: WriteItem[] = [];
    const replaced: string[] = []; // ids being rewritten (statistics move out first)
    let hashed = 0;
    for (const d of docs) {
      if (++hashed % CHECK_SLICE === 0) await yieldToEventLoop();
      const hash = contentHash(d, d.access);
      const prev = byIdentity.get(d.identity);
      if (prev && prev.content_hash === hash && prev.root === root && prev.path === d.path) {
        summary.unchanged++;
        continue;
      }
      writes.push({ d, id: prev?.id ?? documentId(assistant, d.identity), identity: d.identity, hash });
      if (prev) {
        summary.updated++;
        replaced.push(prev.id);
      } else summary.added++;
      summary.changes?.push({ action: prev ? 'update' : 'add', path: d.path, url: d.url, access: d.access, ...(prev && prev.root !== root ? { from: prev.root } : {}) });
    }
    // Removed: this source's documents whose file now holds another document, and (with prune) vanished ones.
    const keep = new Set(payload.keepPaths ?? docs.map((d) => d.path));
    const ownRows = existing.filter((e) => e.root === root);
    const gone = ownRows.filter((e) => !incoming.has(e.identity) && (paths.has(e.path) || (payload.prune && !keep.has(e.path))));
    const vanished = gone.filter((e) => !paths.has(e.path)).length;
    if (payload.prune && !payload.force && vanished > 0 && vanished * 2 > ownRows.length) {
      throw new IngestRefused(`prune would remove ${vanished} of the ${ownRows.length} documents of ${root}: more than half; check the path, or pass --force`);
    }
    let peopleGone: string[] = [];
    if (payload.prune && (people.length || payload.keepPeople)) {
      const keepPeople = new Set(payload.keepPeople ?? people.map((p) => p.id));
      const own = await q.query<{ id: string }>('SELECT id FROM kb_people WHERE assistant = $1 AND source = $2', [assistant, root]);
      peopleGone = own.map((r) => r.id).filter((id) => !keepPeople.has(id));
      if (!payload.force && peopleGone.length * 2 > own.length) {
        throw new IngestRefused(`prune would remove ${peopleGone.length} of the ${own.length} people of ${root}: more than half; check the file, or pass --force`);
      }
    }
    summary.removed = gone.length;
    summary.peopleRemoved = peopleGone.length;
    summary.people = people.length;
    for (const g of gone) summary.changes?.push({ action: 'remove', path: g.path, url: g.url, access: g.access });
    for (const id of peopleGone) summary.changes?.push({ action: 'remove', path: `person ${id}`, url: '', access: [] });
    if (dryRun) {
      opts.onProgress?.(docs.length, docs.length);
      return undefined;
    }
    return { writes, replacedBy: new Map(replaced.map((id) => [id, true])), gone, peopleGone };
  });
  }

  async function writePlan({ writes, replacedBy, gone, peopleGone }: Plan, step: (fn: (q: Queryable) => Promise<void>) => Promise<void>): Promise<void> {
    // Term statistics move by the passages that leave and arrive (not recomputed), so batches stay cheap. Every
    // step goes a bounded slice at a time with a turn of the event loop in between (see SLICE_DOCS).
    // PostgreSQL: the whole call is one transaction, so moving the statistics per slice only rewrote the same
    // kb_terms rows once per slice (a common lexeme: a new row version each time, none of them removable before the
    // transaction ends; 686k dead against 81k live rows after 9k passages). There they move per STATS_DOCS documents.
    for (const ids of sliceIds(gone.map((g) => g.id), embedded ? SLICE_DOCS : STATS_DOCS)) {
      await yieldToEventLoop();
      await step(async (q) => {
        await adjustStats(q, assistant, ids, -1, { dropEmpty: false });
        await q.query('DELETE FROM kb_documents WHERE id = ANY($1::text[])', [ids]);
      });
    }
    if (!embedded) {
      // Rewritten documents' old passages leave the statistics before any of them is replaced.
      for (const ids of sliceIds(writes.filter((w) => replacedBy.has(w.id)).map((w) => w.id), STATS_DOCS)) {
        await step((q) => adjustStats(q, assistant, ids, -1, { dropEmpty: false }));
      }
    }
    let pending: string[] = [];
    const addPending = async () => {
      const ids = pending;
      pending = [];
      if (ids.length) await step((q) => adjustStats(q, assistant, ids, 1));
    };
    let done = summary.unchanged;
    for (const slice of sliceWrites(writes)) {
      await yieldToEventLoop();
      await step(async (q) => {
        if (!embedded) return writeDocuments(q, assistant, root, slice);
        // A rewritten document's old passages leave the statistics before they are replaced.
        const replaced = slice.filter((w) => replacedBy.has(w.id)).map((w) => w.id);
        if (replaced.length) await adjustStats(q, assistant, replaced, -1, { dropEmpty: false });
        await writeDocuments(q, assistant, root, slice);
        await adjustStats(q, assistant, slice.map((w) => w.id), 1);
      });
      if (!embedded) {
        pending.push(...slice.map((w) => w.id));
        if (pending.length >= STATS_DOCS) await addPending();
      }
      done += slice.length;
      opts.onProgress?.(done, docs.length);
    }
    await addPending();
    if (!writes.length && docs.length) opts.onProgress?.(docs.length, docs.length);
    await yieldToEventLoop();
    await step(async (q) => {
      if (replacedBy.size || gone.length) await dropEmptyStats(q, assistant);
      if (people.length) await upsertPeople(q, assistant, root, people);
      if (peopleGone.length) await q.query('DELETE FROM kb_people WHERE assistant = $1 AND id = ANY($2::text[])', [assistant, peopleGone]);
      if (writes.length || gone.length || people.length || peopleGone.length) await bumpVersion(q, assistant);
      await recordIngest(q, payload, summary, [...gone.map((g) => g.id), ...peopleGone.map((id) => `person:${id}`)]);
    });
  }

  if (!dryRun && summary.added + summary.updated > 0) {
    // New index entries wait in the GIN pending list, which every search then scans linearly: merge them now,
    // so the first questions after an ingest are as fast as the later ones.
    await db.query(`SELECT gin_clean_pending_list('kb_chunks_tsv_idx'::regclass)`).catch(() => undefined);
  }

  if (!dryRun && (summary.removed >= VACUUM_AFTER || summary.peopleRemoved >= VACUUM_AFTER)) {
    // A large prune leaves dead rows (passages, statistics); autovacuum does not run in the embedded database at
    // all. compact.ts: on the embedded database the tables that are now mostly waste are rewritten (VACUUM FULL,
    // bounded by their live size) so the data dir shrinks; on PostgreSQL a plain VACUUM makes the space reusable.
    // It cannot run inside a transaction, hence here; failing it only costs space.
    try {
      const report = await compactKnowledge(db);
      const skipped = report.tables.filter((t) => t.action === 'skipped-too-large').map((t) => t.table);
      if (skipped.length) opts.log?.(`not compacted while serving (too large to rewrite now): ${skipped.join(', ')}; \`parley compact\` with the server stopped gives that space back`);
    } catch (err) {
      opts.log?.(`compaction after the prune failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else if (!dryRun) {
    // The embedded database never checkpoints on its own: without this its WAL grows for as long as it runs.
    await checkpointIfWalGrew(db).catch(() => undefined);
  }

  if (!dryRun && opts.embedder) {
    // Passages are committed: whatever the endpoint does, they stay searchable by full text, and the ones left
    // without a vector are embedded by the next ingest.
    try {
      const report = await embedMissingChunks(db, assistant, opts.embedder, { store: opts.vectorStore, log: opts.log });
      if (report.failed) {
        summary.errors.push({ path: '(embeddings)', reason: `${report.failed} passages not embedded (kept for full-text search): ${report.errors[0] ?? 'unknown error'}` });
      }
    } catch (err) {
      // The database failed while embedding (not the endpoint): the same holds.
      const reason = err instanceof Error ? err.message : String(err);
      opts.log?.(`embedding passages of ${assistant} failed: ${reason}`);
      summary.errors.push({ path: '(embeddings)', reason });
    }
  }
  return summary;
}

/** One audit row per ingest call that was applied (batches of one CLI run each get one). */
async function recordIngest(q: Queryable, payload: IngestPayload, s: IngestSummary, removedIds: string[]): Promise<void> {
  await q.query(
    `INSERT INTO kb_ingests (id, assistant, source, actor, prune, forced, added, updated, unchanged, removed, people, people_removed, errors, removed_ids)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text[])`,
    [
      'ing_' + Date.now().toString(36) + randomBytes(6).toString('hex'),
      payload.assistant,
      payload.root,
      payload.actor ?? 'unknown',
      payload.prune,
      Boolean(payload.force),
      s.added,
      s.updated,
      s.unchanged,
      s.removed,
      s.people,
      s.peopleRemoved,
      s.errors.length,
      removedIds.slice(0, AUDIT_IDS),
    ],
  );
}

/** Access lists are stored typed and normalised (principals.ts); an empty list means admins only, never public. */
export function normalizeAccess(access: readonly string[]): string[] {
  return parseAccessList(access);
}

function describeIssue(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid';
  return `${i.path.join('.') || 'value'}: ${i.message}`;
}
