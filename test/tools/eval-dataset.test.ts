import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { Engine, EngineEvent } from '../../src/assistant/engine.ts';
import { createOfflineEngine } from '../../src/assistant/offline/index.ts';
import { createKnowledge } from '../../src/knowledge/index.ts';
import { datasetLayout, datasetReport, gateDiagnosis, gateReport, readQuestions, runDataset, summarizeDataset } from '../../eval/dataset.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startFakeOpenAI } from '../llm/fake-openai.ts';
import { startFakeEmbeddings } from '../support/fake-embeddings.ts';
import { testDb } from '../support/db.ts';

const SET = fileURLToPath(new URL('./fixtures/eval-set/', import.meta.url));

/** Answers every question with the same text and citation (to check the scoring rules, not an engine). */
function fixedEngine(text: string, url: string | null): Engine {
  return {
    name: 'fixed',
    async *answer(): AsyncIterable<EngineEvent> {
      const citations = url ? [{ key: 'd', url, title: 'Doc', body: text, attributes: [] }] : [];
      yield { type: 'message', text, citations, references: citations.length ? [{ key: 'd', offset: text.length }] : [] };
    },
  };
}

describe('eval --dataset', () => {
  it('finds the people file, the articles folder and the questions', () => {
    const l = datasetLayout(SET);
    assert.match(l.people ?? '', /people\.json$/);
    assert.match(l.articles, /docs$/);
    assert.equal(readQuestions(l.questions).length, 5);
    assert.throws(() => datasetLayout(SET + 'docs'), /no questions\.jsonl/);
  });

  it('ingests the set like `parley ingest` and answers each question as its asker (groups from the people file)', async () => {
    const db = await testDb();
    const { outcomes } = await runDataset(db, SET, (k) => createOfflineEngine({ knowledge: k }));
    const by = new Map(outcomes.map((o) => [o.q.id, o]));
    // t2 is answerable only with the finance group the HR export gives the asker; t3 is the same question from outside.
    assert.equal(by.get('t2')!.pass, true, by.get('t2')!.why);
    assert.equal(by.get('t2')!.firstCitation, 'https://wiki.orchard.example/fuel-cards');
    assert.equal(by.get('t3')!.pass, true, by.get('t3')!.why);
    assert.equal(by.get('t1')!.pass, true, by.get('t1')!.why);
    assert.equal(by.get('t4')!.pass, true, by.get('t4')!.why);
    assert.equal(by.get('t5')!.pass, true, by.get('t5')!.why);
    assert.ok(by.get('t1')!.overlap! > 0.5);
    const s = summarizeDataset(outcomes);
    assert.deepEqual(s.byKind.knowledge, { ok: 2, n: 2 });
    const md = datasetReport(outcomes, { dataset: 'eval-set', engine: 'offline', db: db.kind, errors: [] });
    assert.match(md, /\| knowledge .* \| 2\/2 = 100\.0% \|/);
    assert.match(md, /## Knowledge by word overlap/);
  });

  it('diagnoses the confidence gate: right answers with every question answered, those withheld, the unanswerable ones', async () => {
    const db = await testDb();
    const knowledge = createKnowledge(db);
    const { assistant } = await runDataset(db, SET, (k) => createOfflineEngine({ knowledge: k }), knowledge);
    const questions = readQuestions(datasetLayout(SET).questions);
    const d = await gateDiagnosis(knowledge, assistant, questions);
    // Both knowledge questions are answered right with the gate closed too, so nothing is withheld.
    assert.deepEqual({ open: d.open, n: d.n, withheld: d.withheld }, { open: 2, n: 2, withheld: [] });
    // The parrot question finds at most a weak passage: below the gate.
    assert.ok(d.noneMax === null || d.noneMax < 0.75, String(d.noneMax));
    // A question made unanswerable for its asker (t2's finance-only article, asked from outside the group) counts as not right.
    const outside = questions.map((q) => (q.id === 't2' ? { ...q, asker: 'obrandt@orchard.example' } : q));
    assert.equal((await gateDiagnosis(knowledge, assistant, outside)).open, 1);
    assert.match(gateReport(d), /Knowledge right with every question answered: 2\/2 = 100\.0%\. Right answers the gate \(0\.75\) withholds: 0\./);
  });

  it('scores by the set’s rules: a leak fails "forbidden", a citation fails "none", a wrong first citation fails "knowledge"', async () => {
    const db = await testDb();
    const leaky = await runDataset(db, SET, () => fixedEngine('The limit is 400 euros.', 'https://wiki.orchard.example/fuel-cards'), createKnowledge(db));
    const by = new Map(leaky.outcomes.map((o) => [o.q.id, o]));
    assert.equal(by.get('t3')!.pass, false);
    assert.match(by.get('t3')!.why, /LEAK/);
    assert.equal(by.get('t5')!.pass, false);
    assert.equal(by.get('t2')!.pass, true);
    assert.equal(by.get('t1')!.pass, false); // wrong article and fact
    // Saying "nothing found" without citing passes "none"; citing while saying so does not.
    const honest = await runDataset(db, SET, () => fixedEngine("I couldn't find anything that answers this question.", null));
    assert.equal(honest.outcomes.find((o) => o.q.id === 't5')!.pass, true);
    const hedged = await runDataset(db, SET, () => fixedEngine("I couldn't find anything that answers this question.", 'https://wiki.orchard.example/bike-maintenance'));
    assert.equal(hedged.outcomes.find((o) => o.q.id === 't5')!.pass, false);
  });

  it('--engine openai-compatible runs the set end to end against the configured model endpoint', async () => {
    // One scripted model: the first question searches and answers with a citation marker, the rest say "nothing".
    const nothing = { type: 'text' as const, chunks: ["I couldn't find anything about that."] };
    const fake = await startFakeOpenAI([
      { type: 'tool_calls', calls: [{ name: 'search_knowledge', arguments: '{"query":"cargo bike brake inspection"}' }] },
      { type: 'text', chunks: ['Every cargo bike gets a brake inspection ', 'every 500 kilometres.[1]'] },
      nothing, nothing, nothing, nothing,
    ]);
    try {
      const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake-model' };
      const run = promisify(execFile);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'eval/run.ts', '--dataset', SET, '--engine', 'openai-compatible', '--verbose'], { env, cwd: fileURLToPath(new URL('../../', import.meta.url)) });
      assert.match(stdout, /openai-compatible \(fake-model\) engine/);
      assert.match(stdout, /\| knowledge .* \| 1\/2 = 50\.0% \|/, stdout);
      assert.match(stdout, /\| none .* \| 1\/1 = 100\.0% \|/);
      assert.match(stdout, /\| forbidden .* \| 1\/1 = 100\.0% \|/);
      assert.equal(fake.pending(), 0, 'every scripted turn was used');
      // The search ran as the asker: the passage the model was given came from the visible article.
      const toolResult = JSON.stringify(fake.requests[1]?.body.messages ?? []);
      assert.match(toolResult, /500 kilometres/);
    } finally {
      await fake.close();
    }
  });

  it('--engine openai-compatible with embeddings configured: passages and the model’s queries are embedded, end to end', async () => {
    const nothing = { type: 'text' as const, chunks: ["I couldn't find anything about that."] };
    const fake = await startFakeOpenAI([
      { type: 'tool_calls', calls: [{ name: 'search_knowledge', arguments: '{"query":"cargo bike brakes"}' }] },
      { type: 'tool_calls', calls: [{ name: 'search_knowledge', arguments: '{"query":"cargo bike brake inspection"}' }] },
      { type: 'text', chunks: ['Every cargo bike gets a brake inspection every 500 kilometres.[1]'] },
      nothing, nothing, nothing, nothing,
    ]);
    const emb = await startFakeEmbeddings();
    try {
      const env = {
        PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '',
        LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake-model',
        EMBEDDINGS_BASE_URL: emb.baseUrl, EMBEDDINGS_MODEL: 'fake-embed', EMBEDDINGS_API_KEY: 'emb-key',
      };
      const run = promisify(execFile);
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'eval/run.ts', '--dataset', SET, '--engine', 'openai-compatible'], { env, cwd: fileURLToPath(new URL('../../', import.meta.url)) });
      assert.match(stdout, /openai-compatible \(fake-model\) \+ embeddings \(fake-embed, (pgvector|plain column)\) engine/, stdout);
      assert.match(stdout, /\| knowledge .* \| 1\/2 = 50\.0% \|/, stdout);
      assert.match(stdout, /\| forbidden .* \| 1\/1 = 100\.0% \|/);
      assert.doesNotMatch(stderr, /warning/);
      assert.equal(fake.pending(), 0);
      const inputs = emb.requests.flatMap((r) => r.input);
      assert.ok(emb.requests.every((r) => r.model === 'fake-embed' && r.auth === 'Bearer emb-key'));
      assert.ok(inputs.some((t) => /500 kilometres/.test(t)), 'passages were embedded at ingest');
      assert.ok(inputs.includes('cargo bike brakes') && inputs.includes('cargo bike brake inspection'), 'each of the model’s queries was embedded');
    } finally {
      await fake.close();
      await emb.close();
    }
  });
});
