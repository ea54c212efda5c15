/**
 * The model writes its own searches: several queries when the first finds little, bounded in rounds and in number,
 * all through the asker's access-filtered retrieval; citations map to the passages each search returned. A
 * scripted provider over a real socket (fake-openai.ts) plays the model.
 */
import assert from 'node:assert/strict';
import { after as afterAll, afterEach, before, describe, it } from 'node:test';
import { EngineError, type EngineEvent, type EngineRequest } from '../../src/assistant/engine.ts';
import { createLlmEngine, type LlmEngineOptions } from '../../src/assistant/llm/llm-engine.ts';
import { createKnowledge } from '../../src/knowledge/knowledge.ts';
import type { Knowledge } from '../../src/knowledge/types.ts';
import type { SourceDocument } from '../../src/knowledge/sources.ts';
import { startFakeEmbeddings, type FakeEmbeddings } from '../support/fake-embeddings.ts';
import { testDb, uniq } from '../support/db.ts';
import { startFakeOpenAI, type FakeOpenAI, type ScriptedTurn, type WireMessage } from './fake-openai.ts';
import { StubKnowledge } from './stub-knowledge.ts';

const stub = () =>
  new StubKnowledge(
    [
      { id: 'family', url: 'https://wiki.example.com/hr/family-leave', title: 'Family leave', heading: 'Adoption', text: 'Adoptive parents get 16 weeks of paid family leave.', access: ['*'] },
      { id: 'mileage', url: 'https://wiki.example.com/fin/mileage', title: 'Mileage allowance', text: 'Private vehicle use on business is paid at 0.45 per mile.', access: ['*'] },
      { id: 'board', url: 'https://wiki.example.com/exec/board-leave', title: 'Board leave minutes', text: 'Board minutes about family leave costs for 2026.', access: ['group:board'] },
    ],
    [{ id: 'p1', name: 'Rui Tan', email: 'rui@example.com', title: 'Payroll Lead', department: 'Finance', managerId: null }],
  );

const fakes: FakeOpenAI[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});
async function fake(turns: ScriptedTurn[]): Promise<FakeOpenAI> {
  const f = await startFakeOpenAI(turns);
  fakes.push(f);
  return f;
}

const engineFor = (f: FakeOpenAI, knowledge: Knowledge, extra: Partial<LlmEngineOptions> = {}) =>
  createLlmEngine({ baseUrl: f.baseUrl, model: 'fake-model', knowledge, timeoutMs: 15_000, now: () => new Date('2026-03-01T00:00:00Z'), ...extra });

function request(over: Partial<EngineRequest> = {}): EngineRequest {
  return {
    user: { id: 'u-ana', email: 'ana@example.com', emailVerified: true, name: 'Ana', groups: [] },
    assistant: 'helpdesk',
    conversationId: 'conv_m',
    responseId: 'resp_m',
    history: [],
    input: 'We are adopting a baby this summer. How much paid time off do I get?',
    signal: new AbortController().signal,
    ...over,
  };
}

async function run(events: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}
const finalMessage = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'message' ? [e] : [])).at(-1);
const toolResults = (msgs: WireMessage[] | undefined) => (msgs ?? []).filter((m) => m.role === 'tool').map((m) => String(m.content));
const search = (query: string) => ({ name: 'search_knowledge', arguments: JSON.stringify({ query }) });

describe('LLM engine: the model writes its own searches', () => {
  it('searches again with other words when the first search finds nothing, and cites what the later searches found', async () => {
    const knowledge = stub();
    const f = await fake([
      { type: 'tool_calls', calls: [search('baby arrival time off')] },
      // Second round: two searches at once.
      { type: 'tool_calls', calls: [search('adoption paid leave'), search('mileage private car')] },
      { type: 'text', chunks: ['Adoptive parents get 16 weeks of paid leave.[1] ', 'Unrelated: mileage is 0.45 per mile.[2]'] },
    ]);
    const events = await run(engineFor(f, knowledge).answer(request()));

    assert.deepEqual(knowledge.searches.map((s) => s.query), ['baby arrival time off', 'adoption paid leave', 'mileage private car']);
    for (const s of knowledge.searches) assert.deepEqual(s.principals.filter((p) => p.startsWith('group:')), [], 'the asker’s principals, nothing more');

    // The first tool result invites another try and says how many are left.
    const second = toolResults(f.requests[1]?.body.messages);
    assert.match(second[0]!, /^No documents matched “baby arrival time off”\. Try again with other words.*\(7 more searches allowed\)/);
    const third = toolResults(f.requests[2]?.body.messages);
    assert.equal(third.length, 3);
    assert.match(third[1]!, /^\[1\] Family leave — Adoption/);
    assert.match(third[2]!, /^\[2\] Mileage allowance/);
    // The system prompt tells the model it writes its searches, within bounds.
    assert.match(String(f.requests[0]?.body.messages[0]?.content), /search again with different words[\s\S]*At most 8 searches and lookups in all, over at most 4 rounds/);

    const reasoning = events.flatMap((e) => (e.type === 'reasoning' ? [e.text] : []));
    assert.deepEqual(reasoning, [
      'Searching the knowledge base for “baby arrival time off”',
      'Searching the knowledge base for “adoption paid leave”',
      'Searching the knowledge base for “mileage private car”',
    ]);
    const final = finalMessage(events)!;
    assert.deepEqual(final.citations.map((c) => [c.key, c.url, c.body]), [
      ['doc:family', 'https://wiki.example.com/hr/family-leave', 'Adoptive parents get 16 weeks of paid family leave.'],
      ['doc:mileage', 'https://wiki.example.com/fin/mileage', 'Private vehicle use on business is paid at 0.45 per mile.'],
    ]);
    const text = final.text;
    assert.deepEqual(final.references, [
      { key: 'doc:family', offset: Array.from(text.slice(0, text.indexOf('leave.') + 6)).length },
      { key: 'doc:mileage', offset: Array.from(text).length },
    ]);
  });

  it('keeps a document’s number across searches, so a marker cites the passage that search returned', async () => {
    const knowledge = stub();
    const f = await fake([
      { type: 'tool_calls', calls: [search('mileage')] },
      { type: 'tool_calls', calls: [search('family leave adoption'), search('vehicle mileage paid')] },
      { type: 'text', chunks: ['Leave: 16 weeks.[2] Mileage: 0.45.[1]'] },
    ]);
    const final = finalMessage(await run(engineFor(f, knowledge).answer(request())))!;
    const results = toolResults(f.requests[2]?.body.messages);
    assert.match(results[0]!, /^\[1\] Mileage allowance/);
    assert.match(results[1]!, /^\[2\] Family leave/);
    assert.match(results[2]!, /^\[1\] Mileage allowance/, 'the same document keeps [1] in a later search');
    assert.deepEqual(final.citations.map((c) => c.key), ['doc:family', 'doc:mileage']);
    assert.equal(final.text, 'Leave: 16 weeks. Mileage: 0.45.');
  });

  it('bounds the rounds: after maxToolRounds the model must answer, and is not called again if it will not', async () => {
    const knowledge = stub();
    const f = await fake([
      { type: 'tool_calls', calls: [search('one')] },
      { type: 'tool_calls', calls: [search('two')] },
      { type: 'text', chunks: ['I could not find it.'] },
    ]);
    const events = await run(engineFor(f, knowledge, { maxToolRounds: 2 }).answer(request()));
    assert.equal(finalMessage(events)?.text, 'I could not find it.');
    assert.equal(f.requests.length, 3);
    assert.notEqual(f.requests[1]?.body.tool_choice, 'none');
    assert.equal(f.requests[2]?.body.tool_choice, 'none');
    assert.match(String(f.requests[0]?.body.messages[0]?.content), /over at most 2 rounds/);

    // A server that ignores tool_choice and keeps calling tools gets no further round.
    const g = await fake([
      { type: 'tool_calls', calls: [search('one')] },
      { type: 'tool_calls', calls: [search('two')] },
      { type: 'tool_calls', calls: [search('three')] },
      { type: 'text', chunks: ['never asked'] },
    ]);
    const before = knowledge.searches.length;
    await assert.rejects(run(engineFor(g, knowledge, { maxToolRounds: 2 }).answer(request())), (err: unknown) => err instanceof EngineError);
    assert.equal(g.requests.length, 3);
    assert.equal(g.pending(), 1);
    assert.ok(knowledge.searches.length - before <= 3);
  });

  it('bounds the searches per answer across parallel calls and rounds; a repeated query is not run again', async () => {
    const knowledge = stub();
    const f = await fake([
      { type: 'tool_calls', calls: [search('adoption leave'), search('mileage'), search('payroll calendar')] },
      { type: 'tool_calls', calls: [search('Adoption   LEAVE'), { name: 'lookup_person', arguments: '{"name":"Rui Tan"}' }] },
      { type: 'text', chunks: ['16 weeks.[1]'] },
    ]);
    const final = finalMessage(await run(engineFor(f, knowledge, { maxSearches: 2 }).answer(request())))!;
    assert.deepEqual(knowledge.searches.map((s) => s.query), ['adoption leave', 'mileage']);
    const round1 = toolResults(f.requests[1]?.body.messages);
    assert.match(round1[2]!, /^Search limit reached \(2 per answer\)/);
    const round2 = toolResults(f.requests[2]?.body.messages).slice(3);
    assert.match(round2[0]!, /^Already searched for “adoption leave” in this answer/);
    assert.match(round2[1]!, /^Search limit reached/);
    assert.deepEqual(final.citations.map((c) => c.key), ['doc:family']);
  });

  it('never shows the model a restricted document, however many searches it writes', async () => {
    const knowledge = stub();
    const f = await fake([
      { type: 'tool_calls', calls: [search('board minutes'), search('family leave costs 2026')] },
      { type: 'tool_calls', calls: [search('board leave minutes costs')] },
      { type: 'text', chunks: ['Adoptive parents get 16 weeks.[1][2][3]'] },
    ]);
    const final = finalMessage(await run(engineFor(f, knowledge).answer(request())))!;
    const seen = f.requests.flatMap((r) => toolResults(r.body.messages)).join('\n');
    assert.doesNotMatch(seen, /Board leave minutes|board-leave|2026\./);
    assert.ok(final.citations.every((c) => c.key !== 'doc:board'));
  });
});

// The same plumbing over the real knowledge layer (full text fused with dense vectors in the plain store), on the
// test database: the model's later, rephrased search finds what the first missed; restricted passages stay out.
describe('LLM engine over the real retrieval (both databases)', () => {
  let emb: FakeEmbeddings;
  before(async () => {
    emb = await startFakeEmbeddings();
  });
  afterAll(() => emb.close());

  const doc = (path: string, title: string, body: string, access: string[] = ['*']): SourceDocument => ({
    path, format: 'markdown', title, url: `https://kb.example.test/${path.replace(/\.md$/, '')}`, updatedAt: null, access, body,
  });

  it('several searches, access-filtered, cited to the right passages', async () => {
    const db = await testDb();
    const assistant = uniq('llm');
    const knowledge = createKnowledge(db, { embeddings: { baseUrl: emb.baseUrl, model: 'fake-dense' }, vectorStore: 'plain' });
    const summary = await knowledge.ingest({
      assistant, root: '/r', prune: false, people: [],
      documents: [
        doc('garage.md', 'Garage rules', 'Automobile spaces are on level two of the garage.'),
        doc('exec.md', 'Executive garage', 'Reserved automobile bays for executives on level one.', ['executives']),
        doc('canteen.md', 'Canteen', 'Meals are served from noon to two.'),
      ],
    });
    assert.deepEqual(summary.errors, []);
    const f = await fake([
      { type: 'tool_calls', calls: [search('zzqx quux')] },
      { type: 'tool_calls', calls: [search('automobile garage level'), search('meals served')] },
      { type: 'text', chunks: ['Park on level two.[1] Lunch is from noon.[2]'] },
    ]);
    const final = finalMessage(await run(engineFor(f, knowledge).answer(request({ assistant, input: 'where do I put my car, and when is lunch?' }))))!;
    const results = toolResults(f.requests[2]?.body.messages);
    // No word of the first query is in any passage: only the dense side answers, and the result says it is weak.
    assert.match(results[0]!, /These passages match only part of “zzqx quux”\. If they do not answer the question, search again/);
    assert.match(results[1]!, /^\[1\] Garage rules/);
    const all = f.requests.flatMap((r) => toolResults(r.body.messages)).join('\n');
    assert.doesNotMatch(all, /Executive garage|Reserved automobile bays/);
    assert.deepEqual(final.citations.map((c) => c.url), ['https://kb.example.test/garage', 'https://kb.example.test/canteen']);
    assert.equal(final.citations[0]!.body, 'Automobile spaces are on level two of the garage.');
  });
});
