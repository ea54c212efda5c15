/**
 * Giving the knowledge tables' space back after large removals (docs/knowledge-ingest.md, "Space").
 *
 * Embedded database (PGlite: one connection, no autovacuum, data dir on the server's own disk): `VACUUM FULL`
 * rewrites a table and its indexes into new files holding only the live rows and deletes the old files, so the
 * data dir shrinks; a checkpoint afterwards lets PostgreSQL drop the WAL the removal and the rewrite wrote. A rewrite
 * costs time in proportion to what stays (it copies the live rows), and on the embedded database every request
 * waits for it (the one connection is busy), so the automatic step after a large prune rewrites only tables that are
 * mostly waste and whose live rows are at most `maxLiveBytes`; `parley compact` (server stopped) rewrites them all.
 *
 * PostgreSQL server: plain `VACUUM (ANALYZE)` unless `full` is asked for. VACUUM FULL takes an ACCESS EXCLUSIVE
 * lock: on a server that blocks every question's reads of the table on every node for the whole rewrite;
 * autovacuum already makes the space reusable (the next ingest fills it), so giving disk back to the operating
 * system is the operator's call (`parley compact --full` in a quiet moment, or `pg_repack`).
 */
import type { Db } from '../store/db.ts';
import { checkpointIfWalGrew } from '../store/wal.ts';

/** The knowledge tables; `kb_chunk_vectors` (pgvector) exists only where it was created (embeddings.ts). */
export const KNOWLEDGE_TABLES = ['kb_chunks', 'kb_documents', 'kb_terms', 'kb_term_sets', 'kb_people', 'kb_chunk_embeddings', 'kb_chunk_vectors'] as const;

/** Automatic compaction: largest estimated live size of a table it rewrites (bounds the wait it imposes). */
export const AUTO_MAX_LIVE_BYTES = 48 * 1024 * 1024;
/** A table is rewritten when at least this share of its heap and TOAST is estimated to be free or dead… */
const MIN_WASTE_SHARE = 0.3;
/** …and that is at least this many bytes. */
const MIN_WASTE_BYTES = 1024 * 1024;
/** Per-row bytes beyond its columns' own (tuple header, line pointer, alignment). */
const ROW_OVERHEAD = 32;

export interface CompactOptions {
  /** Rewrite every table whatever its estimated waste and size, on either database (`parley compact`). */
  full?: boolean;
  /** Largest estimated live size of a table rewritten without `force` (default AUTO_MAX_LIVE_BYTES). */
  maxLiveBytes?: number;
}

export interface CompactTable {
  table: string;
  /** heap + TOAST + indexes before. */
  bytesBefore: number;
  bytesAfter: number;
  /** Estimated bytes of live rows (heap + TOAST), when rewriting was considered. */
  liveBytes?: number;
  action: 'rewritten' | 'vacuumed' | 'skipped-too-large';
}

export interface CompactReport {
  database: 'embedded' | 'postgres';
  tables: CompactTable[];
  bytesBefore: number;
  bytesAfter: number;
  seconds: number;
}

async function sizes(db: Db, table: string): Promise<{ total: number; table: number }> {
  const [r] = await db.query<{ total: string; tbl: string }>('SELECT pg_total_relation_size($1::regclass) AS total, pg_table_size($1::regclass) AS tbl', [table]);
  return { total: Number(r?.total ?? 0), table: Number(r?.tbl ?? 0) };
}

/**
 * The live rows' bytes: each column's stored size (`pg_column_size` counts a compressed or out-of-line value as
 * stored, without reading it back) plus a row's fixed overhead. One scan of the heap.
 */
async function liveBytes(db: Db, table: string): Promise<number> {
  const cols = await db.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [table]);
  const sum = cols.map((c) => `coalesce(pg_column_size(t.${quoteIdent(c.name)}), 0)`).join(' + ') || '0';
  const [r] = await db.query<{ n: string; bytes: string }>(`SELECT count(*) AS n, coalesce(sum(${sum}), 0) AS bytes FROM ${table} t`);
  return Number(r?.bytes ?? 0) + ROW_OVERHEAD * Number(r?.n ?? 0);
}

function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export async function compactKnowledge(db: Db, opts: CompactOptions = {}): Promise<CompactReport> {
  const started = performance.now();
  const tables: CompactTable[] = [];
  const present = (await db.query<{ t: string }>('SELECT t FROM unnest($1::text[]) WITH ORDINALITY AS x(t, n) WHERE to_regclass(t) IS NOT NULL ORDER BY n', [[...KNOWLEDGE_TABLES]])).map((r) => r.t);
  if (db.kind !== 'embedded' && !opts.full) {
    const before = await Promise.all(present.map((t) => sizes(db, t)));
    await db.query(`VACUUM (ANALYZE) ${present.join(', ')}`);
    for (const [i, t] of present.entries()) tables.push({ table: t, bytesBefore: before[i]!.total, bytesAfter: (await sizes(db, t)).total, action: 'vacuumed' });
  } else {
    const maxLive = opts.maxLiveBytes ?? AUTO_MAX_LIVE_BYTES;
    let rewrote = false;
    for (const t of present) {
      const before = await sizes(db, t);
      const live = await liveBytes(db, t);
      const waste = before.table - live;
      const worth = opts.full || (waste >= MIN_WASTE_BYTES && waste >= MIN_WASTE_SHARE * before.table);
      let action: CompactTable['action'] = 'vacuumed';
      if (worth && (opts.full || live <= maxLive)) {
        await db.query(`VACUUM (FULL, ANALYZE) ${t}`);
        action = 'rewritten';
        rewrote = true;
      } else {
        await db.query(`VACUUM (ANALYZE) ${t}`);
        if (worth) action = 'skipped-too-large';
      }
      tables.push({ table: t, bytesBefore: before.total, bytesAfter: (await sizes(db, t)).total, liveBytes: live, action });
    }
    // The rewrite's and the removal's WAL: dropped down to max_wal_size by a checkpoint (store/wal.ts).
    if (rewrote && db.kind === 'embedded') await db.query('CHECKPOINT');
    else await checkpointIfWalGrew(db);
  }
  return {
    database: db.kind,
    tables,
    bytesBefore: tables.reduce((n, t) => n + t.bytesBefore, 0),
    bytesAfter: tables.reduce((n, t) => n + t.bytesAfter, 0),
    seconds: (performance.now() - started) / 1000,
  };
}
