/**
 * Optional dense retrieval: an OpenAI-compatible `/embeddings` endpoint plus pgvector. The vector table is made at
 * runtime and only where pgvector exists (Debian's PostgreSQL 15 has none), so the migrations stay portable.
 */
import type { Db, Queryable } from '../store/db.ts';

export interface EmbeddingsConfig {
  /** e.g. `http://127.0.0.1:11434/v1`; requests go to `${baseUrl}/embeddings`. */
  baseUrl: string;
  model: string;
  apiKey?: string | undefined;
  /** Texts per request (default 64). */
  batchSize?: number | undefined;
  timeoutMs?: number | undefined;
  fetch?: typeof fetch | undefined;
}

export interface Embedder {
  readonly model: string;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

/** A client for `POST ${baseUrl}/embeddings` (`{model, input}` → `{data: [{embedding, index}]}`). */
export function createEmbedder(cfg: EmbeddingsConfig): Embedder {
  const doFetch = cfg.fetch ?? fetch;
  const url = cfg.baseUrl.replace(/\/+$/, '') + '/embeddings';
  const batch = cfg.batchSize ?? 64;
  const timeoutMs = cfg.timeoutMs ?? 30_000;
  return {
    model: cfg.model,
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
          if (!Array.isArray(d.embedding) || !d.embedding.every((x) => typeof x === 'number' && Number.isFinite(x))) {
            throw new Error('embeddings endpoint returned a malformed vector');
          }
          vectors[idx] = d.embedding as number[];
        });
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

/** Embeds every chunk of the assistant that has no vector for this model yet; returns how many were embedded. */
export async function embedMissingChunks(db: Db, assistant: string, embedder: Embedder, batch = 64): Promise<number> {
  await ensureVectorTable(db);
  let done = 0;
  for (;;) {
    const rows = await db.query<{ id: string; title: string; heading: string; body: string }>(
      `SELECT c.id, c.title, c.heading, c.body FROM kb_chunks c
        WHERE c.assistant = $1
          AND NOT EXISTS (SELECT 1 FROM kb_chunk_vectors v WHERE v.chunk_id = c.id AND v.model = $2)
        ORDER BY c.id LIMIT $3`,
      [assistant, embedder.model, batch],
    );
    if (!rows.length) return done;
    const vectors = await embedder.embed(rows.map(passageForEmbedding));
    await db.tx(async (q) => {
      for (let i = 0; i < rows.length; i++) await upsertVector(q, rows[i]!.id, assistant, embedder.model, vectors[i]!);
    });
    done += rows.length;
    if (rows.length < batch) return done;
  }
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
  return [c.title, c.heading, c.body].filter(Boolean).join('\n');
}
