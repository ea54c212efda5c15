/**
 * Dense retrieval benchmark without pgvector: passages embedded at ingest through an OpenAI-compatible
 * `/v1/embeddings` endpoint (a local fake with deterministic 768-dimension vectors, served from a child process so
 * it does not share Parley's event loop), stored in the plain `kb_chunk_embeddings` column, searched by the exact
 * in-process scan fused with full text (src/knowledge/dense.ts). On a fresh PostgreSQL database (created and
 * dropped), or the embedded one with `--embedded`.
 *
 *   npm run bench:dense -- [--passages 50000] [--dims 768] [--queries 300] [--embedded] [--out FILE]
 *
 * Writes bench/results/dense.md unless --out - (print only).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PlainVectorIndex, normalized, plainIndexFor } from '../src/knowledge/dense.ts';
import { createEmbedder } from '../src/knowledge/embeddings.ts';
import { createKnowledge } from '../src/knowledge/knowledge.ts';
import type { SourceDocument } from '../src/knowledge/sources.ts';
import { openDatabase, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { Vocabulary, makeDocs, makeQueries, percentile, rng } from './retrieval.ts';

const CHILD = process.argv.includes('--fake-embeddings-child');

/** Hashed bag of words: each word adds to 4 of `dims` dimensions (cheap, deterministic, overlap-sensitive). */
function fakeVector(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const w of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    let h = 2166136261;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619) >>> 0;
    for (let j = 0; j < 4; j++) {
      h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
      v[h % dims]! += h & 1 ? 1 : -1;
    }
  }
  v[0]! += 0.01; // never the zero vector
  return v;
}

if (CHILD) {
  // The fake endpoint: POST /v1/embeddings with the real request and response shapes.
  const { createServer } = await import('node:http');
  const dims = Number(process.env['FAKE_DIMS'] ?? 768);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; input: string[] };
      const data = body.input.map((t, index) => ({ object: 'embedding', index, embedding: fakeVector(t, dims) }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 0, total_tokens: 0 } }));
    });
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

async function startFake(dims: number): Promise<{ baseUrl: string; child: ChildProcess }> {
  const child = fork(fileURLToPath(import.meta.url), ['--fake-embeddings-child'], { execArgv: ['--import', 'tsx'], env: { ...process.env, FAKE_DIMS: String(dims) } });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`fake embeddings exited ${code}`)));
  });
  return { baseUrl: `http://127.0.0.1:${port}/v1`, child };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      passages: { type: 'string', default: '50000' },
      dims: { type: 'string', default: '768' },
      queries: { type: 'string', default: '300' },
      embedded: { type: 'boolean', default: false },
      out: { type: 'string' },
      'pg-url': { type: 'string', default: process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    },
  });
  const passages = Number(values.passages);
  const dims = Number(values.dims);
  const nQueries = Number(values.queries);
  const fake = await startFake(dims);
  const started = Date.now();
  let pgVersion = '';
  let lines: string[] = [];
  try {
    if (values.embedded) {
      const db = await openDatabase({ dataDir: 'memory://' });
      try {
        lines = await bench(db, 'embedded (PGlite 0.5.14)', fake.baseUrl, passages, dims, nQueries);
      } finally {
        await db.close();
      }
    } else {
      const name = `parley_bench_dense_${process.pid}_${Date.now()}`;
      const admin = new pg.Client({ connectionString: values['pg-url'] });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      try {
        const url = new URL(values['pg-url']);
        url.pathname = '/' + name;
        const db = await openDatabase({ url: url.toString(), poolSize: 4, vector: true });
        try {
          pgVersion = String((await db.query<{ v: string }>('SELECT current_setting($$server_version$$) AS v'))[0]?.v ?? '');
          if (db.hasVector) throw new Error('this PostgreSQL has pgvector: the bench measures the plain store, run it where pgvector is absent');
          lines = await bench(db, `PostgreSQL ${pgVersion}`, fake.baseUrl, passages, dims, nQueries);
        } finally {
          await db.close();
        }
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name}`);
        await admin.end();
      }
    }
  } finally {
    fake.child.kill();
  }
  const cpu = cpus();
  const md = [
    '# Dense retrieval without pgvector',
    '',
    `Run on ${new Date().toISOString().slice(0, 10)} by \`bench/dense.ts\` in ${Math.round((Date.now() - started) / 1000)} s. Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB RAM (${Math.round(freemem() / 2 ** 30)} GiB free at the end), Node ${process.version}.`,
    '',
    ...lines,
    '',
  ].join('\n');
  process.stdout.write(md);
  if (values.out !== '-') writeFileSync(values.out ?? fileURLToPath(new URL('./results/dense.md', import.meta.url)), md);
}

async function bench(db: Db, dbName: string, baseUrl: string, target: number, dims: number, nQueries: number): Promise<string[]> {
  await migrate(db);
  const log = (s: string) => process.stderr.write(s + '\n');
  const warnings: string[] = [];
  const embeddings = { baseUrl, model: `fake-${dims}`, timeoutMs: 60_000 };
  const knowledge = createKnowledge(db, { embeddings, vectorStore: 'plain', log: (m) => warnings.push(m) });
  const fullText = createKnowledge(db);
  const random = rng(7);
  const vocab = new Vocabulary(30000, random);
  const assistant = `bench-dense-${Date.now()}`;
  const docs: SourceDocument[] = [];
  const perDoc = 6;
  const t0 = performance.now();
  while (docs.length * perDoc < target) {
    const batch = makeDocs(vocab, random, docs.length, Math.min(500, Math.ceil((target - docs.length * perDoc) / perDoc)));
    const s = await knowledge.ingest({ assistant, root: '/bench', prune: false, documents: batch, people: [] });
    if (s.errors.length) throw new Error(`ingest errors: ${JSON.stringify(s.errors.slice(0, 3))}`);
    docs.push(...batch);
    log(`ingested ${docs.length * perDoc} passages (${Math.round((performance.now() - t0) / 1000)} s)`);
  }
  const ingestSec = (performance.now() - t0) / 1000;
  const [{ n: chunks, v: vectors }] = (await db.query<{ n: number; v: number }>(
    'SELECT (SELECT count(*) FROM kb_chunks WHERE assistant = $1)::int AS n, (SELECT count(*) FROM kb_chunk_embeddings WHERE assistant = $1)::int AS v',
    [assistant],
  )) as [{ n: number; v: number }];
  if (db.kind === 'postgres') await db.query('ANALYZE');

  const principals = ['*', 'bench-user', 'bench.user@bench.example', 'employees', 'engineering'];
  const queries = makeQueries(docs, vocab, random, nQueries).map((x) => x.q);

  // Cold: the first search after the ingest loads every vector into this process.
  const heap0 = process.memoryUsage();
  let s = performance.now();
  await knowledge.search(assistant, principals, queries[0]!);
  const coldMs = performance.now() - s;
  const cacheBytes = plainIndexFor(db).bytes;
  const heap1 = process.memoryUsage();

  for (const q of queries.slice(0, 20)) await knowledge.search(assistant, principals, q); // warm-up
  const loadAtStart = loadavg()[0]!;
  const fused: number[] = [];
  for (const q of queries) {
    s = performance.now();
    await knowledge.search(assistant, principals, q);
    fused.push(performance.now() - s);
  }
  const ftOnly: number[] = [];
  for (const q of queries) {
    s = performance.now();
    await fullText.search(assistant, principals, q);
    ftOnly.push(performance.now() - s);
  }
  // The scan alone, on vectors already computed (no HTTP, no SQL but the generation check).
  const embedder = createEmbedder(embeddings);
  const qv = (await embedder.embed(queries.slice(0, 100))).map((v) => normalized(v)!);
  const index = plainIndexFor(db);
  const scanOnly: number[] = [];
  for (let r = 0; r < 3; r++) {
    for (const v of qv) {
      s = performance.now();
      await index.search(assistant, embeddings.model, principals, v, 20);
      scanOnly.push(performance.now() - s);
    }
  }
  const embedOnly: number[] = [];
  for (const q of queries.slice(0, 100)) {
    s = performance.now();
    await embedder.embed([q]);
    embedOnly.push(performance.now() - s);
  }

  // Another node picking up a small ingest: a fresh index loads everything; an existing one only what is new.
  s = performance.now();
  const other = new PlainVectorIndex(db);
  await other.search(assistant, embeddings.model, principals, qv[0]!, 20);
  const otherCold = performance.now() - s;
  const extra = makeDocs(vocab, random, docs.length, 10);
  await knowledge.ingest({ assistant, root: '/bench', prune: false, documents: extra, people: [] });
  s = performance.now();
  await other.search(assistant, embeddings.model, principals, qv[0]!, 20);
  const otherIncremental = performance.now() - s;

  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const p = (xs: number[]) => `${ms(percentile(xs, 0.5))} / ${ms(percentile(xs, 0.95))}`;
  const MiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const fusedP95 = percentile(fused, 0.95);
  return [
    `Database: ${dbName}, on localhost. Synthetic corpus of bench/retrieval.ts (Zipf vocabulary, ≈180-word passages, 15% of documents ` +
      `restricted to a group the asker is not in): **${chunks.toLocaleString('en-US')} passages, ${vectors.toLocaleString('en-US')} vectors of ${dims} dimensions** ` +
      `(float32), embedded at ingest through \`POST /v1/embeddings\` of a fake endpoint in a child process (hashed bag of words: ` +
      `deterministic; its cost is not a model's). ${nQueries} questions from the corpus's words, the same as the retrieval bench's; ` +
      `the asker sees the unrestricted 85%.`,
    '',
    '| what | p50 / p95 |',
    '|---|---|',
    `| **search, full text + dense fused (RRF)**: embedding the question over HTTP, exact scan, passages read back, fusion | **${p(fused)}** |`,
    `| search, full text only (same questions, no embeddings) | ${p(ftOnly)} |`,
    `| the exact scan alone (access filter + cosine top-20 over ${vectors.toLocaleString('en-US')} vectors; 300 scans) | ${p(scanOnly)} |`,
    `| embedding one question at the fake endpoint (HTTP round trip only) | ${p(embedOnly)} |`,
    '',
    `- Ingest with embeddings: ${Math.round(chunks / ingestSec).toLocaleString('en-US')} passages/s (${Math.round(ingestSec)} s for ${chunks.toLocaleString('en-US')}; batches of 64 texts per request).`,
    `- Vector cache: **${MiB(cacheBytes)}** of Float32Array for ${vectors.toLocaleString('en-US')} × ${dims} (4 × dims bytes per passage); ` +
      `process RSS ${MiB(heap0.rss)} before the first search, ${MiB(heap1.rss)} after it.`,
    `- First search after the ingest (loads every vector into the process): ${ms(coldMs)}. Another node's first search: ${ms(otherCold)}; ` +
      `its next search after a 10-document ingest elsewhere (reads only the rows past its newest seq: the 60 new vectors; the block, sized exactly at the first load, is reallocated with 25% spare room): ${ms(otherIncremental)}.`,
    `- Warnings during the run: ${warnings.length ? warnings.slice(0, 3).join('; ') : 'none'}.`,
    `- Load average (1 min) when the measurements started: ${loadAtStart.toFixed(1)}, at the end: ${loadavg()[0]!.toFixed(1)}, on ${cpus().length} cores ` +
      '(other work shares this machine; every figure above includes that contention).',
    '',
    `Target: 50k passages, search p95 < 100 ms → **${ms(fusedP95)}** (${target >= 50000 ? (fusedP95 < 100 ? 'met' : 'NOT met') : 'not measured at 50k'}). ` +
      'A real embedding model adds its own time per question on top (not measurable here: no model is reachable from this machine).',
  ];
}
