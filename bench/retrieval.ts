/**
 * Retrieval benchmark: ingestion throughput, search latency at 1k / 10k / 100k passages, and the end-to-end time
 * of an offline answer, on the embedded database and on PostgreSQL (a fresh database, created and dropped).
 * Run alone with `node --import tsx bench/retrieval.ts [--quick]`, or through bench/run.ts.
 */
import { cpus, freemem, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createOfflineEngine } from '../src/assistant/offline/index.ts';
import type { AskingUser } from '../src/assistant/engine.ts';
import { applyIngest } from '../src/knowledge/ingest.ts';
import { createKnowledge } from '../src/knowledge/knowledge.ts';
import type { SourceDocument, SourcePerson } from '../src/knowledge/sources.ts';
import { openDatabase, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';

export interface RetrievalBenchOptions {
  /** Corpus sizes in passages (chunks), measured cumulatively in one assistant. Default 1k, 10k, 100k. */
  sizes?: number[];
  /** Run on the embedded database (default true). */
  embedded?: boolean;
  /** Server to create a throwaway database on; null skips PostgreSQL. Default postgres://postgres@127.0.0.1:5432/postgres. */
  postgresUrl?: string | null;
  /** Search queries per size (default 300) and offline answers per size (default 100). */
  queries?: number;
  answers?: number;
  /** Where to write the markdown; null to skip writing. Default bench/results/retrieval.md. */
  out?: string | null;
  log?: (line: string) => void;
}

export interface RetrievalBenchRow {
  database: 'embedded' | 'postgres';
  chunks: number;
  ingestChunksPerSec: number;
  ingestDocsPerSec: number;
  searchP50: number;
  searchP95: number;
  andP95: number;
  orP95: number;
  answerP50: number;
  answerP95: number;
  peopleAnswerP95: number;
}

const CHUNKS_PER_DOC = 6;
const WORDS_PER_SENTENCE = 12;
const SENTENCES_PER_CHUNK = 15; // ≈ 180 words, in the chunker's 150–300 band
const GROUPS = ['hr', 'finance', 'security', 'executives'];
const ASKER: AskingUser = { id: 'bench-user', email: 'bench.user@bench.example', groups: ['employees', 'engineering'] };

/** Small deterministic PRNG (mulberry32), so every run measures the same corpus and queries. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'ta', 'vo', 'shi', 'pel', 'dra', 'nu', 'gar', 'ben', 'sol', 'qui', 'zan', 'tor', 'mek', 'fa', 'lis', 'or'];

/** A vocabulary with Zipf-like frequencies: a few very common words, a long tail of rare ones. */
export class Vocabulary {
  readonly words: string[] = [];
  private readonly cumulative: number[] = [];
  constructor(size: number, random: () => number) {
    const seen = new Set<string>();
    while (this.words.length < size) {
      const n = 2 + Math.floor(random() * 3);
      let w = '';
      for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
      if (!seen.has(w)) {
        seen.add(w);
        this.words.push(w);
      }
    }
    let total = 0;
    for (let r = 0; r < size; r++) {
      total += 1 / Math.pow(r + 10, 1.05);
      this.cumulative.push(total);
    }
    for (let r = 0; r < size; r++) this.cumulative[r]! /= total;
  }
  pick(random: () => number): string {
    const x = random();
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return this.words[lo]!;
  }
}

function sentence(v: Vocabulary, random: () => number): string {
  const words = Array.from({ length: WORDS_PER_SENTENCE }, () => v.pick(random));
  return words[0]![0]!.toUpperCase() + words[0]!.slice(1) + ' ' + words.slice(1).join(' ') + '.';
}

export function makeDocs(v: Vocabulary, random: () => number, from: number, count: number): SourceDocument[] {
  const docs: SourceDocument[] = [];
  for (let i = from; i < from + count; i++) {
    const sections: string[] = [];
    for (let c = 0; c < CHUNKS_PER_DOC; c++) {
      const body = Array.from({ length: SENTENCES_PER_CHUNK }, () => sentence(v, random)).join(' ');
      sections.push(`## ${v.pick(random)} ${v.pick(random)}\n\n${body}`);
    }
    const restricted = random() < 0.15;
    docs.push({
      path: `doc-${i}.md`,
      format: 'markdown',
      title: `${v.pick(random)} ${v.pick(random)} ${v.pick(random)}`,
      url: `https://kb.bench.example/doc-${i}`,
      updatedAt: '2026-01-01T00:00:00.000Z',
      access: restricted ? [GROUPS[Math.floor(random() * GROUPS.length)]!] : ['*'],
      body: sections.join('\n\n'),
    });
  }
  return docs;
}

function makePeople(count: number, random: () => number): SourcePerson[] {
  const first = ['Ana', 'Ben', 'Chloé', 'Dev', 'Eli', 'Fatima', 'Goran', 'Hana', 'Ivan', 'Jun', 'Kofi', 'Lena', 'Mateo', 'Nia', 'Omar', 'Priya'];
  const last = ['Adler', 'Brandt', 'Costa', 'Dumas', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jansen', 'Kowalski', 'Larsen', 'Moreau', 'Novak', 'Okafor', 'Petrov'];
  return Array.from({ length: count }, (_, i) => ({
    id: `b${i}`,
    name: `${first[i % first.length]} ${last[Math.floor(i / first.length) % last.length]}${i >= 256 ? ` ${i}` : ''}`,
    email: `b${i}@bench.example`,
    title: 'Engineer',
    department: ['Engineering', 'Sales', 'Finance', 'HR'][i % 4]!,
    location: 'Remote',
    phone: `+1-555-01${String(i % 100).padStart(2, '0')}`,
    managerId: i === 0 ? null : `b${Math.floor(random() * i)}`,
    groups: ['employees'],
    url: null,
  }));
}

/** Queries built from words of the corpus: most match with AND, some carry a word no passage has (OR stage). */
export function makeQueries(docs: SourceDocument[], v: Vocabulary, random: () => number, n: number): { q: string; kind: 'and' | 'or' }[] {
  const out: { q: string; kind: 'and' | 'or' }[] = [];
  const common = new Set(v.words.slice(0, 100));
  for (let i = 0; i < n; i++) {
    const d = docs[Math.floor(random() * docs.length)]!;
    // Users type content words, not the corpus's most frequent words (in English those are stop words, which
    // never reach the index): the 100 most frequent synthetic words play that part and are not asked for.
    const words = d.body.replace(/[#.]/g, ' ').split(/\s+/).filter((w) => w && !common.has(w.toLowerCase()));
    const pick = () => words[Math.floor(random() * words.length)]!.toLowerCase();
    const kind = random() < 0.3 ? 'or' : 'and';
    const terms = [pick(), pick(), ...(random() < 0.5 ? [pick()] : [])];
    if (kind === 'or') terms.push('zyx' + v.words.length + i); // a word in no passage
    out.push({ q: `How do I ${terms.join(' ')}?`, kind });
  }
  return out;
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

async function benchOne(db: Db, kind: 'embedded' | 'postgres', opts: Required<Pick<RetrievalBenchOptions, 'sizes' | 'queries' | 'answers'>>, log: (s: string) => void): Promise<RetrievalBenchRow[]> {
  await migrate(db);
  const random = rng(42);
  const vocab = new Vocabulary(30000, random);
  const assistant = `bench-${kind}-${Date.now()}`;
  const rows: RetrievalBenchRow[] = [];
  await applyIngest(db, { assistant, root: '/bench', prune: false, documents: [], people: makePeople(2000, random) });
  const knowledge = createKnowledge(db);
  const engine = createOfflineEngine({ knowledge });
  const all: SourceDocument[] = [];
  const batch = 500;
  for (const size of opts.sizes) {
    const targetDocs = Math.ceil(size / CHUNKS_PER_DOC);
    const t0 = performance.now();
    let added = 0;
    while (all.length < targetDocs) {
      const docs = makeDocs(vocab, random, all.length, Math.min(batch, targetDocs - all.length));
      await applyIngest(db, { assistant, root: '/bench', prune: false, documents: docs, people: [] });
      all.push(...docs);
      added += docs.length;
    }
    const ingestSec = (performance.now() - t0) / 1000;
    const chunks = Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM kb_chunks WHERE assistant = $1', [assistant]))[0]!.n);
    // What autovacuum does on a server where it runs (the default; the one this bench ran on has it off): without it
    // the term-statistics rows' dead versions from the ingest slow every question's lookups.
    if (db.kind === 'postgres') await db.query('VACUUM (ANALYZE) kb_chunks, kb_terms, kb_term_sets, kb_documents');

    const queries = makeQueries(all, vocab, random, opts.queries);
    const principals = ['*', ASKER.id, ASKER.email!, ...ASKER.groups];
    for (const { q } of queries.slice(0, 20)) await knowledge.search(assistant, principals, q); // warm-up
    const times: { ms: number; kind: 'and' | 'or' }[] = [];
    for (const { q, kind: k } of queries) {
      const s = performance.now();
      await knowledge.search(assistant, principals, q);
      times.push({ ms: performance.now() - s, kind: k });
    }
    const answerTimes: number[] = [];
    for (const { q } of queries.slice(0, opts.answers)) answerTimes.push(await timeAnswer(engine, assistant, q));
    const peopleTimes: number[] = [];
    for (let i = 0; i < Math.min(50, opts.answers); i++) peopleTimes.push(await timeAnswer(engine, assistant, `Who does ${['Ana Adler', 'Ben Adler', 'Hana Costa', 'Omar Dumas'][i % 4]} report to?`));

    const row: RetrievalBenchRow = {
      database: kind,
      chunks,
      ingestChunksPerSec: Math.round((added * CHUNKS_PER_DOC) / ingestSec),
      ingestDocsPerSec: Math.round(added / ingestSec),
      searchP50: percentile(times.map((t) => t.ms), 0.5),
      searchP95: percentile(times.map((t) => t.ms), 0.95),
      andP95: percentile(times.filter((t) => t.kind === 'and').map((t) => t.ms), 0.95),
      orP95: percentile(times.filter((t) => t.kind === 'or').map((t) => t.ms), 0.95),
      answerP50: percentile(answerTimes, 0.5),
      answerP95: percentile(answerTimes, 0.95),
      peopleAnswerP95: percentile(peopleTimes, 0.95),
    };
    rows.push(row);
    log(`${kind} ${chunks} chunks: ingest ${row.ingestChunksPerSec} chunks/s, search p50 ${row.searchP50.toFixed(1)} ms p95 ${row.searchP95.toFixed(1)} ms, answer p95 ${row.answerP95.toFixed(1)} ms`);
  }
  return rows;
}

async function timeAnswer(engine: ReturnType<typeof createOfflineEngine>, assistant: string, input: string): Promise<number> {
  const s = performance.now();
  for await (const _ of engine.answer({ user: ASKER, assistant, conversationId: 'c', responseId: 'r', history: [], input, signal: new AbortController().signal })) void _;
  return performance.now() - s;
}

/** Runs the benchmark; returns the rows and the markdown report (also written to `out`). */
export async function runRetrievalBench(opts: RetrievalBenchOptions = {}): Promise<{ rows: RetrievalBenchRow[]; markdown: string }> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const settings = { sizes: opts.sizes ?? [1000, 10000, 100000], queries: opts.queries ?? 300, answers: opts.answers ?? 100 };
  const rows: RetrievalBenchRow[] = [];
  let pgVersion = '';
  const started = Date.now();
  if (opts.postgresUrl !== null) {
    const adminUrl = opts.postgresUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `parley_bench_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const url = new URL(adminUrl);
      url.pathname = '/' + name;
      const db = await openDatabase({ url: url.toString(), poolSize: 4 });
      try {
        pgVersion = String((await db.query<{ v: string }>('SELECT current_setting($$server_version$$) AS v'))[0]?.v ?? '');
        rows.push(...(await benchOne(db, 'postgres', settings, log)));
      } finally {
        await db.close();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
  }
  if (opts.embedded !== false) {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      rows.push(...(await benchOne(db, 'embedded', settings, log)));
    } finally {
      await db.close();
    }
  }
  const markdown = report(rows, settings, pgVersion, (Date.now() - started) / 1000);
  if (opts.out !== null) {
    const out = opts.out ?? fileURLToPath(new URL('./results/retrieval.md', import.meta.url));
    mkdirSync(out.replace(/\/[^/]*$/, ''), { recursive: true });
    writeFileSync(out, markdown);
  }
  return { rows, markdown };
}

function report(rows: RetrievalBenchRow[], s: { sizes: number[]; queries: number; answers: number }, pgVersion: string, seconds: number): string {
  const ms = (x: number) => x.toFixed(1);
  const cpu = cpus();
  const lines = [
    '# Retrieval benchmark',
    '',
    `Run on ${new Date().toISOString().slice(0, 10)} by \`bench/retrieval.ts\` in ${Math.round(seconds)} s. Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB RAM (${Math.round(freemem() / 2 ** 30)} GiB free at the end), Node ${process.version}, ` +
      `PostgreSQL ${pgVersion || '(not run)'} on localhost, embedded PGlite 0.5.14 (PostgreSQL 18, WASM, in-process).`,
    '',
    `Synthetic corpus: Zipf-distributed 30k-word vocabulary, ${CHUNKS_PER_DOC} sections of ≈${WORDS_PER_SENTENCE * SENTENCES_PER_CHUNK} words per document, ` +
      `15% of documents restricted to a group the asker is not in; sizes are cumulative in one assistant, ingested in batches of 500 documents ` +
      `(the same \`applyIngest\` the CLI and the admin endpoint use). ${s.queries} search queries per size, 70% of them answered by the AND stage and ` +
      `30% carrying a word no passage has (forcing the OR stage); ${s.answers} complete offline answers per size (retrieval, relevance check, ` +
      `sentence selection, citations, all snapshots) and 50 people answers against a 2,000-person directory. Times are wall-clock in-process, ` +
      `so they include the database round trips (TCP to localhost for PostgreSQL). Figures move by about ±25% from run to ` +
      `run on this shared 2-vCPU machine; the first (1k) row of each series also carries JIT and cache warm-up.`,
    '',
    '| database | passages | ingest (passages/s) | ingest (docs/s) | search p50 | search p95 | AND p95 | OR p95 | offline answer p50 | offline answer p95 | people answer p95 |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.database} | ${r.chunks.toLocaleString('en-US')} | ${r.ingestChunksPerSec.toLocaleString('en-US')} | ${r.ingestDocsPerSec.toLocaleString('en-US')} | ` +
        `${ms(r.searchP50)} ms | ${ms(r.searchP95)} ms | ${ms(r.andP95)} ms | ${ms(r.orP95)} ms | ${ms(r.answerP50)} ms | ${ms(r.answerP95)} ms | ${ms(r.peopleAnswerP95)} ms |`,
    ),
    '',
  ];
  const pg100k = rows.find((r) => r.database === 'postgres' && r.chunks >= 100000);
  if (pg100k) {
    lines.push(
      `Targets on PostgreSQL at 100k passages: retrieval p95 < 50 ms → **${ms(pg100k.searchP95)} ms** (${pg100k.searchP95 < 50 ? 'met' : 'NOT met'}); ` +
        `complete offline answer < 150 ms → **p95 ${ms(pg100k.answerP95)} ms** (${pg100k.answerP95 < 150 ? 'met' : 'NOT met'}).`,
      '',
    );
  }
  return lines.join('\n');
}

/** Per (database, size), the median of each figure over several runs (run-to-run noise on a shared machine). */
export function medianRows(runs: RetrievalBenchRow[][]): RetrievalBenchRow[] {
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  return runs[0]!.map((first, i) => {
    const same = runs.map((r) => r[i]!).filter((r) => r && r.database === first.database);
    const out = { ...first };
    for (const k of Object.keys(first) as (keyof RetrievalBenchRow)[]) {
      if (typeof first[k] === 'number') (out as Record<string, unknown>)[k] = med(same.map((r) => r[k] as number));
    }
    return out;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  const pgOnly = process.argv.includes('--postgres-only');
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  // --runs N: N full runs, the report gives each figure's median (and every run's search / answer p95).
  const runs = Number(arg('--runs') ?? 1);
  const sizes = arg('--sizes')?.split(',').map(Number);
  const base: RetrievalBenchOptions = {
    ...(quick ? { sizes: [1000, 10000], queries: 100, answers: 30, out: null } : {}),
    ...(pgOnly ? { embedded: false, out: null } : {}),
    ...(sizes ? { sizes } : {}),
    ...(arg('--out') ? { out: arg('--out')! } : {}),
  };
  if (runs <= 1) await runRetrievalBench(base);
  else {
    const all: RetrievalBenchRow[][] = [];
    let last = '';
    for (let r = 0; r < runs; r++) {
      const res = await runRetrievalBench({ ...base, out: null });
      all.push(res.rows);
      last = res.markdown;
      console.log(`run ${r + 1}/${runs} done`);
    }
    const rows = medianRows(all);
    const perRun = rows.map((row, i) => `| ${row.database} | ${row.chunks.toLocaleString('en-US')} | ` +
      all.map((run) => `${run[i]!.searchP95.toFixed(1)} / ${run[i]!.answerP95.toFixed(1)}`).join(' | ') + ' |');
    const header = last.split('\n| database')[0]!;
    const markdown = [
      header.trimEnd(),
      '',
      `**Medians of ${runs} runs** (each figure the median of its ${runs} values):`,
      '',
      '| database | passages | ingest (passages/s) | ingest (docs/s) | search p50 | search p95 | AND p95 | OR p95 | offline answer p50 | offline answer p95 | people answer p95 |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.database} | ${r.chunks.toLocaleString('en-US')} | ${r.ingestChunksPerSec.toLocaleString('en-US')} | ${r.ingestDocsPerSec.toLocaleString('en-US')} | ` +
        `${r.searchP50.toFixed(1)} ms | ${r.searchP95.toFixed(1)} ms | ${r.andP95.toFixed(1)} ms | ${r.orP95.toFixed(1)} ms | ${r.answerP50.toFixed(1)} ms | ${r.answerP95.toFixed(1)} ms | ${r.peopleAnswerP95.toFixed(1)} ms |`),
      '',
      'Each run\'s search p95 / offline answer p95 (ms):',
      '',
      `| database | passages | ${all.map((_, i) => `run ${i + 1}`).join(' | ')} |`,
      `|---|---|${all.map(() => '---').join('|')}|`,
      ...perRun,
      '',
    ];
    const pg100k = rows.find((r) => r.database === 'postgres' && r.chunks >= 100000);
    if (pg100k) {
      markdown.push(`Targets on PostgreSQL at 100k passages (medians of ${runs}): search p95 < 50 ms → **${pg100k.searchP95.toFixed(1)} ms** (${pg100k.searchP95 < 50 ? 'met' : 'NOT met'}); ` +
        `complete offline answer p95 < 150 ms → **${pg100k.answerP95.toFixed(1)} ms** (${pg100k.answerP95 < 150 ? 'met' : 'NOT met'}).`, '');
    }
    const out = base.out === undefined ? fileURLToPath(new URL('./results/retrieval.md', import.meta.url)) : base.out;
    if (out) writeFileSync(out, markdown.join('\n'));
    console.log(markdown.join('\n'));
  }
}
