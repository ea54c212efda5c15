/**
 * Where an ingest's space goes, and whether removal gives it back (docs/benchmarks.md, "Space").
 *
 *   node --import tsx bench/space.ts [--mb 10] [--corpus zipf|terms] [--postgres] [--json out.json]
 *
 * Embedded database (default): a fresh data dir on disk, migrated; generated Markdown articles of about `--mb` MB of
 * text are ingested with `applyIngest` in the CLI's batch shape (190 documents a call); then the whole source is
 * removed (one prune call) and compacted (`compactKnowledge`). After each step: the data dir on disk (pg_wal apart),
 * and per knowledge table its heap, TOAST and index sizes. `--postgres` runs the same against a throwaway database
 * on TEST_DATABASE_URL's server (sizes from pg_total_relation_size; there is no data dir of our own to measure).
 * Corpora: `zipf` (bench/retrieval.ts's Zipf vocabulary, sentences of 12 words) or `terms` (bench/ingest-load.ts's
 * articles: 40 words a line from 20,000 distinct `termNx` tokens).
 */
import { rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { applyIngest } from '../src/knowledge/ingest.ts';
import { compactKnowledge } from '../src/knowledge/compact.ts';
import type { SourceDocument } from '../src/knowledge/sources.ts';
import { openDatabase, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { generatedArticle } from '../test/support/generated-articles.ts';
import { makeDocs, rng, Vocabulary } from './retrieval.ts';
import { du } from './proc.ts';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '10' },
    corpus: { type: 'string', default: 'zipf' },
    postgres: { type: 'boolean', default: false },
    json: { type: 'string' },
    keep: { type: 'string', default: '0' },
  },
});
const TARGET = Number(values.mb) * 1_000_000;
const BATCH = 190;

function corpus(): SourceDocument[] {
  const docs: SourceDocument[] = [];
  let bytes = 0;
  if (values.corpus === 'terms') {
    for (let n = 0; bytes < TARGET; n++) {
      const body = generatedArticle(n, 2600);
      bytes += body.length;
      docs.push({ path: `a${n}.md`, format: 'markdown', title: `Article ${n}`, url: `https://kb.space.example/a${n}`, updatedAt: null, access: ['*'], body });
    }
    return docs;
  }
  const random = rng(7);
  const vocab = new Vocabulary(30000, random);
  while (bytes < TARGET) {
    const [d] = makeDocs(vocab, random, docs.length, 1);
    bytes += d!.body.length;
    docs.push(d!);
  }
  return docs;
}

const TABLES = ['kb_documents', 'kb_chunks', 'kb_terms', 'kb_term_sets', 'kb_people', 'kb_chunk_embeddings'];

interface Sizes {
  step: string;
  seconds: number;
  dataDir?: number;
  wal?: number;
  tables: Record<string, { heap: number; toast: number; indexes: number; total: number; rows: number }>;
  indexes: Record<string, number>;
}

async function sizes(db: Db, step: string, seconds: number, dataDir: string | null): Promise<Sizes> {
  const tables: Sizes['tables'] = {};
  for (const t of TABLES) {
    const [r] = await db.query<{ heap: string; toast: string; indexes: string; total: string; rows: string }>(
      `SELECT pg_relation_size($1::regclass) AS heap, pg_table_size($1::regclass) - pg_relation_size($1::regclass) AS toast,
              pg_indexes_size($1::regclass) AS indexes, pg_total_relation_size($1::regclass) AS total,
              (SELECT count(*) FROM ${t}) AS rows`,
      [t],
    );
    tables[t] = { heap: Number(r!.heap), toast: Number(r!.toast), indexes: Number(r!.indexes), total: Number(r!.total), rows: Number(r!.rows) };
  }
  const idx = await db.query<{ name: string; size: string }>(
    `SELECT c.relname AS name, pg_relation_size(c.oid) AS size FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY($1::text[]) ORDER BY 2 DESC`,
    [TABLES],
  );
  const out: Sizes = { step, seconds, tables, indexes: Object.fromEntries(idx.map((r) => [r.name, Number(r.size)])) };
  if (dataDir) {
    out.dataDir = du(dataDir);
    out.wal = du(join(dataDir, 'pg_wal'));
  }
  return out;
}

const mb = (b: number | undefined) => (b === undefined ? '–' : (b / 1048576).toFixed(1));

function print(s: Sizes): void {
  const total = Object.values(s.tables).reduce((n, t) => n + t.total, 0);
  console.log(`\n== ${s.step} (${s.seconds.toFixed(1)} s): data dir ${mb(s.dataDir)} MB (pg_wal ${mb(s.wal)} MB), knowledge tables ${mb(total)} MB`);
  console.log('table | rows | heap MB | toast MB | indexes MB | total MB');
  for (const [t, v] of Object.entries(s.tables)) console.log(`${t} | ${v.rows} | ${mb(v.heap)} | ${mb(v.toast)} | ${mb(v.indexes)} | ${mb(v.total)}`);
  console.log('indexes: ' + Object.entries(s.indexes).filter(([, v]) => v > 1048576 / 4).map(([k, v]) => `${k} ${mb(v)}`).join(', '));
}

const docs = corpus();
const textBytes = docs.reduce((n, d) => n + Buffer.byteLength(d.body), 0);
console.log(`corpus ${values.corpus}: ${docs.length} documents, ${mb(textBytes)} MB of text`);

let db: Db;
let dataDir: string | null = null;
let dropDb: (() => Promise<void>) | null = null;
if (values.postgres) {
  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `parley_space_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = '/' + name;
  db = await openDatabase({ url: url.toString(), poolSize: 2 });
  dropDb = async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  };
} else {
  dataDir = mkdtempSync(join(tmpdir(), 'parley-space-'));
  db = await openDatabase({ dataDir });
}
const results: Sizes[] = [];
try {
  await migrate(db);
  if (dataDir) await db.query('CHECKPOINT');
  results.push(await sizes(db, 'empty (migrated)', 0, dataDir));
  print(results.at(-1)!);
  const assistant = 'space';
  let t0 = performance.now();
  for (let i = 0; i < docs.length; i += BATCH) {
    await applyIngest(db, { assistant, root: '/space', prune: false, documents: docs.slice(i, i + BATCH), people: [] });
  }
  results.push(await sizes(db, `ingest ${docs.length} documents`, (performance.now() - t0) / 1000, dataDir));
  print(results.at(-1)!);
  const keep = Number(values.keep);
  t0 = performance.now();
  const kept = docs.slice(0, Math.floor(docs.length * keep));
  const removed = await applyIngest(db, { assistant, root: '/space', prune: true, force: true, documents: [], keepPaths: kept.map((d) => d.path), people: [] });
  results.push(await sizes(db, `remove ${removed.removed} documents (prune, with the ingest's own clean-up)`, (performance.now() - t0) / 1000, dataDir));
  print(results.at(-1)!);
  t0 = performance.now();
  const report = await compactKnowledge(db, { full: true });
  results.push(await sizes(db, `parley compact (compactKnowledge full, ${report.database})`, (performance.now() - t0) / 1000, dataDir));
  print(results.at(-1)!);
  console.log(JSON.stringify(report.tables.map((t) => [t.table, t.action, t.liveBytes, t.bytesBefore, t.bytesAfter])), report.seconds.toFixed(2) + " s");
  if (values.json) writeFileSync(values.json, JSON.stringify({ corpus: values.corpus, documents: docs.length, textBytes, database: db.kind, results }, null, 2));
} finally {
  await db.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (dropDb) await dropDb();
}
