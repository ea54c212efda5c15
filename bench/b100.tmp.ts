import { createOfflineEngine } from '../src/assistant/offline/index.ts';
import { applyIngest } from '../src/knowledge/ingest.ts';
import { createKnowledge } from '../src/knowledge/knowledge.ts';
import { openDatabase } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { makeDocs, makeQueries, rng, Vocabulary, percentile } from './retrieval.ts';
const db = await openDatabase({ url: 'postgres://postgres@127.0.0.1:5432/parley_h_space_b', poolSize: 4 });
await migrate(db);
const random = rng(42);
const vocab = new Vocabulary(30000, random);
const assistant = 'b100';
const all: ReturnType<typeof makeDocs> = [];
const t0 = performance.now();
while (all.length < Math.ceil(100000 / 6)) {
  const docs = makeDocs(vocab, random, all.length, Math.min(500, Math.ceil(100000 / 6) - all.length));
  await applyIngest(db, { assistant, root: '/bench', prune: false, documents: docs, people: [] });
  all.push(...docs);
}
console.log(`ingest ${((performance.now() - t0) / 1000).toFixed(0)} s`);
console.log(JSON.stringify(await db.query(`SELECT relname, n_live_tup, n_dead_tup, pg_size_pretty(pg_total_relation_size(relid)) AS size FROM pg_stat_user_tables WHERE relname IN ('kb_terms','kb_chunks')`)));
await db.query('ANALYZE kb_chunks');
const knowledge = createKnowledge(db);
const engine = createOfflineEngine({ knowledge });
const ASKER = { id: 'bench-user', email: 'bench.user@bench.example', groups: ['employees', 'engineering'] };
const principals = ['*', ASKER.id, ASKER.email, ...ASKER.groups];
const queries = makeQueries(all, vocab, random, 300);
async function pass(label: string) {
  for (const { q } of queries.slice(0, 20)) await knowledge.search(assistant, principals, q);
  const s: number[] = [];
  for (const { q } of queries) { const t = performance.now(); await knowledge.search(assistant, principals, q); s.push(performance.now() - t); }
  const a: number[] = [];
  for (const { q } of queries.slice(0, 100)) {
    const t = performance.now();
    for await (const _ of engine.answer({ user: ASKER, assistant, conversationId: 'c', responseId: 'r', history: [], input: q, signal: new AbortController().signal })) void _;
    a.push(performance.now() - t);
  }
  console.log(`${label}: search p50 ${percentile(s, 0.5).toFixed(1)} p95 ${percentile(s, 0.95).toFixed(1)} ms; answer p50 ${percentile(a, 0.5).toFixed(1)} p95 ${percentile(a, 0.95).toFixed(1)} ms`);
}
await pass('as ingested (ANALYZE kb_chunks only)');
await db.query('VACUUM (ANALYZE) kb_chunks, kb_terms, kb_term_sets, kb_documents');
for (let i = 1; i <= 3; i++) await pass(`after VACUUM ANALYZE, pass ${i}`);
await db.close();
