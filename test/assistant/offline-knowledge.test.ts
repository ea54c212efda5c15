import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createOfflineEngine } from '../../src/assistant/offline/index.ts';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { createKnowledge } from '../../src/knowledge/knowledge.ts';
import { parseSources } from '../../src/knowledge/parse.ts';
import { testDb, uniq } from '../support/db.ts';
import { FIXTURES } from '../knowledge/support.ts';
import { citationProblems, ENGINEER, fixtureAssistant, HR_PERSON, type MessageEvent } from './support.ts';

type Fixture = Awaited<ReturnType<typeof fixtureAssistant>>;
const RESTRICTED_URL = 'https://kb.example.test/hr/quantum-forecast';

/** Every sentence of the answer (list markers removed) appears verbatim in a cited passage. */
function unsupported(m: MessageEvent): string[] {
  const bodies = m.citations.map((c) => c.body).join('\n');
  return m.text
    .split(/\n+|(?<=[.!?])\s+(?=[A-Z0-9])/)
    .map((s) => s.replace(/^(-|\d+\.)\s+/, '').trim())
    .filter((s) => s && !bodies.includes(s));
}

describe('offline engine: knowledge', () => {
  let f: Fixture;
  before(async () => {
    f = await fixtureAssistant();
  });

  it('answers a how-to with the steps, quoted from the passage it cites', async () => {
    const t = await f.ask('How do I reset my VPN password?');
    assert.match(t.final.text, /self-service portal at https:\/\/vpn\.example\.test\/reset/);
    assert.match(t.final.text, /1\. Open https:\/\/vpn\.example\.test\/reset[^\n]*\n2\. Approve[^\n]*\n3\. Choose/);
    assert.equal(t.final.citations.length, 1);
    const c = t.final.citations[0]!;
    assert.equal(c.url, 'https://kb.example.test/it/vpn-reset');
    assert.equal(c.title, 'Resetting your VPN password');
    assert.deepEqual(c.attributes.find((a) => a.key === 'UPDATE_DATETIME'), { key: 'UPDATE_DATETIME', value: '2026-05-01T10:00:00.000Z' });
    assert.deepEqual(unsupported(t.final), []);
    assert.deepEqual(citationProblems(t.final), []);
    assert.deepEqual(t.reasoning, ['Searching the knowledge base for reset vpn password']);
  });

  it('quotes the sentence holding the fact asked for', async () => {
    const t = await f.ask('How long does a locked VPN account stay locked?');
    assert.match(t.final.text, /locks for 30 minutes/);
    assert.deepEqual(unsupported(t.final), []);
    const lost = await f.ask('How long does reception keep found items?');
    assert.match(lost.final.text, /30 days/);
    assert.equal(lost.final.citations[0]?.url, 'https://kb.acme.example/misc/lost-and-found.txt');
  });

  it('streams growing snapshots; the last is the complete message', async () => {
    const t = await f.ask('How do I reset my VPN password?');
    assert.ok(t.snapshots.length >= 3, `${t.snapshots.length} snapshots`);
    for (let i = 1; i < t.snapshots.length; i++) {
      assert.ok(t.snapshots[i]!.text.startsWith(t.snapshots[i - 1]!.text));
      assert.ok(t.snapshots[i]!.text.length > t.snapshots[i - 1]!.text.length);
    }
    for (const s of t.snapshots) assert.deepEqual(citationProblems(s), []);
    const types = t.events.map((e) => e.type);
    assert.equal(types.lastIndexOf('reasoning') < types.indexOf('message'), true, 'reasoning before the message');
  });

  it('counts offsets in code points with emoji and CJK in the quoted text', async () => {
    const t = await f.ask('Where is the team offsite 🎉 taking place?');
    assert.match(t.final.text, /Kyoto \(京都\)/);
    const ref = t.final.references[0]!;
    const before = Array.from(t.final.text).slice(0, ref.offset).join('');
    assert.ok(/[.。]$/.test(before), `reference after a sentence end, got …${JSON.stringify(before.slice(-12))}`);
    assert.equal(ref.offset <= Array.from(t.final.text).length, true);
    assert.notEqual(Array.from(t.final.text).length, t.final.text.length, 'the text has astral characters');
  });

  it('says honestly when nothing relevant is found, naming what it searched, citing nothing', async () => {
    const t = await f.ask('What is the capital of Peru?');
    assert.deepEqual(t.final.citations, []);
    assert.match(t.final.text, /^I searched the knowledge base for “capital peru”, but I couldn't find anything/);
    assert.match(t.final.text, /rephras/i);
    // Weak matches are not used as padding: a VPN word alone does not make the VPN article an answer.
    const weak = await f.ask('What is the VPN mascot called and who designed the zebra logo?');
    assert.deepEqual(weak.final.citations, []);
  });

  it('never cites, quotes or hints at a restricted document for outsiders, in any event', async () => {
    const q = 'What is the quantum budget forecast for 2027?';
    const insider = await f.ask(q, { user: HR_PERSON });
    assert.equal(insider.final.citations[0]?.url, RESTRICTED_URL, 'group from the directory grants access');
    assert.match(insider.final.text, /4\.2 million/);

    const outsider = await f.ask(q, { user: ENGINEER });
    const everything = JSON.stringify(outsider.events);
    assert.ok(!everything.includes(RESTRICTED_URL));
    assert.ok(!everything.includes('4.2 million'));
    assert.ok(!everything.includes('Quantum budget forecast 2027'));
    assert.ok(!everything.includes('12 percent'));

    // The outsider's answer is exactly what it would be if the document did not exist at all.
    const db = await testDb();
    const without = uniq('asst');
    const kb = await parseSources(FIXTURES + 'kb');
    await applyIngest(db, { assistant: without, root: kb.root, prune: false, documents: kb.documents.filter((d) => d.url !== RESTRICTED_URL), people: (await parseSources(FIXTURES + 'people.csv')).people });
    const engine = createOfflineEngine({ knowledge: createKnowledge(db) });
    const events = [];
    for await (const e of engine.answer({ user: ENGINEER, assistant: without, conversationId: 'c', responseId: 'r', history: [], input: q, signal: new AbortController().signal })) events.push(e);
    // (Citation keys name the document's row, which differs between the two assistants; everything else is equal.)
    const sameKeys = (evs: unknown[]) => JSON.parse(JSON.stringify(evs).replace(/doc:doc_[0-9a-f]+/g, 'doc:X')) as unknown;
    assert.deepEqual(sameKeys(outsider.events), sameKeys(events));
  });

  it('answers a very long input quickly, from the knowledge base', async () => {
    const long = 'How do I reset my VPN password? ' + 'The VPN password must be reset now. '.repeat(800);
    const t0 = performance.now();
    const t = await f.ask(long);
    assert.ok(performance.now() - t0 < 2000, 'bounded work');
    assert.equal(t.final.citations[0]?.url, 'https://kb.example.test/it/vpn-reset');
  });

  it('stops when aborted', async () => {
    const engine = createOfflineEngine({ knowledge: f.knowledge });
    const ctl = new AbortController();
    ctl.abort(new Error('deadline'));
    await assert.rejects(async () => {
      for await (const _ of engine.answer({ user: ENGINEER, assistant: f.assistant, conversationId: 'c', responseId: 'r', history: [], input: 'How do I reset my VPN password?', signal: ctl.signal })) void _;
    }, /deadline/);
  });
});
