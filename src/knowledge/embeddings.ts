/**
 * Optional dense retrieval: an OpenAI-compatible `/embeddings` endpoint, with vectors stored either in pgvector's
 * `kb_chunk_vectors` (made at runtime, only where the extension exists) or, where it does not (Debian's
 * PostgreSQL 15), in the plain `kb_chunk_embeddings` table scanned in process (dense.ts).
 */
import type { Db, Queryable } from '../store/db.ts';
import { normalized, writePlainVectors } from './dense.ts';

export interface EmbeddingsConfig {
  /** e.g. `http://127.0.0.1:11434/v1`; requests go to `${baseUrl}/embeddings`. */
  baseUrl: string;
  model: string;
  apiKey?: string | undefined;
  /** Texts per request (default 64). */
  batchSize?: number | undefined;
  /** One request at ingest (default 30 000). */
  timeoutMs?: number | undefined;
  /** Embedding the question at search time (default 5000); past it the search is full-text only. */
  queryTimeoutMs?: number | undefined;
  fetch?: typeof fetch | undefined;
}

export interface Embedder {
  readonly model: string;
  /** Budget for embedding one question at search time, ms. */
  readonly queryTimeoutMs?: number | undefined;
  /** Texts per request. */
  readonly batchSize?: number | undefined;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

/** Longest vector accepted from an endpoint (the largest common models have 4096 dimensions). */
export const MAX_DIMS = 8192;
/** Characters of a passage sent to be embedded (models truncate or refuse past their context anyway). */
const MAX_EMBED_CHARS = 8000;
/** Failed requests in a row after which one ingest stops embedding (the endpoint is down, not one bad passage). */
const MAX_CONSECUTIVE_FAILURES = 3;

/** A client for `POST ${baseUrl}/embeddings` (`{model, input}` → `{data: [{embedding, index}]}`). */
export function createEmbedder(cfg: EmbeddingsConfig): Embedder {
  const doFetch = cfg.fetch ?? fetch;
  const url = cfg.baseUrl.replace(/\/+$/, '') + '/embeddings';
  const batch = cfg.batchSize ?? 64;
  const timeoutMs = cfg.timeoutMs ?? 30_000;
  return {
    model: cfg.model,
    queryTimeoutMs: cfg.queryTimeoutMs ?? 5000,
    batchSize: batch,
    async embed(texts, signal) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += batch) {
        const input = texts.slice(i, i + batch);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (cfg.apiKey) headers['authorization'] = `Bearer ${cfg.apiKey}`;
        const timeout = AbortSignal.timeout(timeoutMs);
        const res = await doFetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ model: cfg.model, input }),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        if (!res.ok) throw new Error(`embeddings endpoint answered ${res.status}`);
        const body = (await res.json()) as { data?: { embedding?: unknown; index?: unknown }[] };
        if (!Array.isArray(body.data) || body.data.length !== input.length) throw new Error('embeddings endpoint returned a malformed body');
        const vectors: number[][] = new Array(input.length);
        body.data.forEach((d, j) => {
          const idx = typeof d.index === 'number' ? d.index : j;
          if (
            !Number.isInteger(idx) || idx < 0 || idx >= input.length ||
            !Array.isArray(d.embedding) || d.embedding.length === 0 || d.embedding.length > MAX_DIMS ||
            !d.embedding.every((x) => typeof x === 'number' && Number.isFinite(x))
          ) {
            throw new Error('embeddings endpoint returned a malformed vector');
          }
          vectors[idx] = d.embedding as number[];
        });
        const dims = vectors[0]?.length;
        if (vectors.some((v) => !v || v.length !== dims)) throw new Error('embeddings endpoint returned vectors of different sizes');
        out.push(...vectors);
      }
      return out;
    },
  };
}

const ready = new WeakMap<Db, Promise<void>>();

/** Creates the vector table once per database handle (guarded by an advisory lock against racing nodes). */
export function ensureVectorTable(db: Db): Promise<void> {
  let p = ready.get(db);
  if (!p) {
    p = db.tx(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock(724012)');
      await q.query(`CREATE TABLE IF NOT EXISTS kb_chunk_vectors (
        chunk_id   text PRIMARY KEY REFERENCES kb_chunks(id) ON DELETE CASCADE,
        assistant  text NOT NULL,
        model      text NOT NULL,
        embedding  vector NOT NULL)`);
      await q.query('CREATE INDEX IF NOT EXISTS kb_chunk_vectors_assistant_idx ON kb_chunk_vectors (assistant, model)');
    });
    p.catch(() => ready.delete(db));
    ready.set(db, p);
  }
  return p;
}

export function vectorLiteral(v: readonly number[]): string {
  return '[' + v.join(',') + ']';
}

export type VectorStore = 'pgvector' | 'plain';

export interface EmbedReport {
  embedded: number;
  /** Passages left without a vector (they stay searchable by full text; the next ingest retries them). */
  failed: number;
  errors: string[];
}

/**
 * Embeds every passage of the assistant that has no vector for this model yet, a batch per request. A failed batch
 * is skipped (reported, retried by the next ingest); after a few failures in a row the rest waits for the next
 * ingest too. Never throws for the endpoint's sake: the passages and their full-text index are already committed.
 */
export async function embedMissingChunks(
  db: Db,
  assistant: string,
  embedder: Embedder,
  opts: { store?: VectorStore | undefined; batch?: number | undefined; log?: ((msg: string) => void) | undefined } = {},
): Promise<EmbedReport> {
  const store = opts.store ?? (db.hasVector ? 'pgvector' : 'plain');
  const batch = opts.batch ?? embedder.batchSize ?? 64;
  if (store === 'pgvector') await ensureVectorTable(db);
  const table = store === 'pgvector' ? 'kb_chunk_vectors' : 'kb_chunk_embeddings';
  const report: EmbedReport = { embedded: 0, failed: 0, errors: [] };
  // One pass in id order (keyset): each passage is looked at once per ingest, however many the assistant holds.
  const missing = `c.assistant = $1 AND c.id > $3
          AND NOT EXISTS (SELECT 1 FROM ${table} v WHERE v.chunk_id = c.id AND v.model = $2)`;
  let after = '';
  let inARow = 0;
  for (;;) {
    const rows = await db.query<{ id: string; title: string; heading: string; body: string }>(
      `SELECT c.id, c.title, c.heading, c.body FROM kb_chunks c WHERE ${missing} ORDER BY c.id LIMIT $4`,
      [assistant, embedder.model, after, batch],
    );
    if (!rows.length) break;
    after = rows[rows.length - 1]!.id;
    try {
      const vectors = await embedder.embed(rows.map(passageForEmbedding));
      const unit = vectors.map((v) => normalized(v));
      if (unit.some((v) => v === null)) throw new Error('embeddings endpoint returned a zero vector');
      await db.tx(async (q) => {
        if (store === 'plain') {
          await writePlainVectors(q, assistant, embedder.model, rows.map((r, i) => ({ id: r.id, vector: unit[i]! })));
        } else {
          for (let i = 0; i < rows.length; i++) await upsertVector(q, rows[i]!.id, assistant, embedder.model, vectors[i]!);
        }
      });
      report.embedded += rows.length;
      inARow = 0;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      inARow++;
      report.errors.push(reason);
      opts.log?.(`embedding ${rows.length} passages of ${assistant} failed: ${reason}`);
      report.failed += rows.length;
      if (inARow >= MAX_CONSECUTIVE_FAILURES) {
        const [left] = await db.query<{ n: number | string }>(`SELECT count(*) AS n FROM kb_chunks c WHERE ${missing}`, [assistant, embedder.model, after]);
        report.failed += Number(left?.n ?? 0);
        opts.log?.(`embedding stopped after ${inARow} failed requests in a row; ${report.failed} passages wait for the next ingest`);
        break;
      }
    }
    if (rows.length < batch) break;
  }
  return report;
}

async function upsertVector(q: Queryable, chunkId: string, assistant: string, model: string, v: number[]): Promise<void> {
  // The chunk may have been replaced meanwhile by a concurrent ingest: insert only if it still exists.
  await q.query(
    `INSERT INTO kb_chunk_vectors (chunk_id, assistant, model, embedding)
     SELECT id, $2, $3, $4::vector FROM kb_chunks WHERE id = $1
     ON CONFLICT (chunk_id) DO UPDATE SET model = EXCLUDED.model, embedding = EXCLUDED.embedding`,
    [chunkId, assistant, model, vectorLiteral(v)],
  );
}

/** What gets embedded for a passage: its title and heading give the body its context. */
export function passageForEmbedding(c: { title: string; heading: string; body: string }): string {
  const text = [c.title, c.heading, c.body].filter(Boolean).join('\n');
  if (text.length <= MAX_EMBED_CHARS) return text;
  // Never cut a surrogate pair in two (a lone surrogate is not valid UTF-8 on the wire).
  const end = /[\uD800-\uDBFF]/.test(text[MAX_EMBED_CHARS - 1]!) ? MAX_EMBED_CHARS - 1 : MAX_EMBED_CHARS;
  return text.slice(0, end);
}
