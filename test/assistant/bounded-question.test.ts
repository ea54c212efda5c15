import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EngineEvent, HistoryMessage } from '../../src/assistant/engine.ts';
import {
  boundedQuestion,
  HEAD_WORDS,
  MAX_VIEW_CODE_POINTS,
  MAX_WORD_CODE_POINTS,
  MAX_WORDS,
} from '../../src/assistant/offline/bounded-question.ts';
import { createOfflineEngine } from '../../src/assistant/offline/index.ts';
import type { ParleyKnowledge } from '../../src/knowledge/knowledge.ts';
import { ENGINEER, fixtureAssistant } from './support.ts';

// The question that kept a node busy ≈ 10 s (31,931 code points, inside the API's 32,000 limit).
const FREEZER = 'what is vpn password reset ' + '?'.repeat(31900) + ' vpn';

const cp = (s: string) => Array.from(s).length;

describe('the bounded view of a question', () => {
  it('leaves a typed question as it is, apart from whitespace runs', () => {
    assert.equal(boundedQuestion('How do I reset my VPN password?'), 'How do I reset my VPN password?');
    assert.equal(boundedQuestion("  Who is Maya Chen's manager?!  "), "Who is Maya Chen's manager?!");
    assert.equal(boundedQuestion('what   is\t the\n\n per diem...'), 'what is the\nper diem...');
  });

  it('cuts punctuation runs, long words, and keeps the first and last words of a long paste', () => {
    assert.equal(boundedQuestion(FREEZER), 'what is vpn password reset ??? vpn');
    assert.equal(boundedQuestion('why?!?!?!?! now'), 'why?!? now');
    assert.equal(cp(boundedQuestion('x'.repeat(5000))), MAX_WORD_CODE_POINTS);
    // Astral characters count as one and are never split; emoji are symbols, so a run of them is cut like "???".
    assert.equal(boundedQuestion('𠀀'.repeat(500)), '𠀀'.repeat(MAX_WORD_CODE_POINTS));
    assert.equal(boundedQuestion('thanks 🙂🙂🙂🙂🙂'), 'thanks 🙂🙂🙂');
    const words = Array.from({ length: 1000 }, (_, i) => `w${i}`);
    const view = boundedQuestion(words.join(' ')).split(' ');
    assert.deepEqual(view.slice(0, HEAD_WORDS), words.slice(0, HEAD_WORDS));
    assert.equal(view[HEAD_WORDS], '…');
    assert.deepEqual(view.slice(HEAD_WORDS + 1), words.slice(words.length - (MAX_WORDS - HEAD_WORDS)));
  });

  it('is bounded and linear whatever 32,000 code points it is given', () => {
    const fill = (unit: string) => unit.repeat(Math.ceil(32000 / unit.length)).slice(0, 32000);
    for (const text of [FREEZER, fill('? '), fill('a'), fill('a?'), fill('🙂'), fill('abc '.repeat(30) + 'x'.repeat(200) + ' '), fill(' \n'), fill('-a-')]) {
      const started = performance.now();
      const view = boundedQuestion(text);
      const ms = performance.now() - started;
      assert.ok(ms < 200, `took ${ms.toFixed(0)} ms`);
      assert.ok(cp(view) <= MAX_VIEW_CODE_POINTS);
      assert.ok(view.split(/\s+/).length <= MAX_WORDS + 1);
    }
  });
});

describe('the offline engine on a 32,000-character question', () => {
  it('answers the question that froze a node, from the same article as the short question, and quickly', async () => {
    const { ask } = await fixtureAssistant();
    const short = await ask('what is vpn password reset? vpn');
    const started = performance.now();
    const long = await ask(FREEZER);
    const ms = performance.now() - started;
    // Generous: it took ≈ 10 s (up to 22 s on a loaded machine) before the bounded view.
    assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
    assert.ok(long.final.citations.length > 0, long.final.text);
    assert.deepEqual(
      long.final.citations.map((c) => c.url),
      short.final.citations.map((c) => c.url),
    );
  });

  it('sends the knowledge base and the directory only bounded queries, including for a long earlier question', async () => {
    const { knowledge, assistant } = await fixtureAssistant();
    const queries: string[] = [];
    const spy: ParleyKnowledge = {
      ...knowledge,
      search: (a, p, q, o) => (queries.push(q), knowledge.search(a, p, q, o)),
      findPeople: (a, q, o) => (queries.push(q), knowledge.findPeople(a, q, o)),
      findPeopleByTitle: (a, q) => (queries.push(q), knowledge.findPeopleByTitle(a, q)),
    };
    const engine = createOfflineEngine({ knowledge: spy });
    const longWho = 'who is ada lovelace '.repeat(1600);
    const cases: [string, HistoryMessage[]][] = [
      [FREEZER, []],
      [longWho, []],
      [
        'what is her email?',
        [
          { actor: 'USER', text: longWho, citations: [] },
          { actor: 'ASSISTANT', text: 'Ada Lovelace', citations: [{ url: 'https://x.example/p', title: 'Ada', attributes: [{ key: 'EMAIL', value: 'ada.lovelace@example.test' }] }] },
        ],
      ],
    ];
    for (const [input, history] of cases) {
      const started = performance.now();
      const events: EngineEvent[] = [];
      for await (const e of engine.answer({ user: ENGINEER, assistant, conversationId: 'c', responseId: 'r', history, input, signal: new AbortController().signal })) {
        events.push(e);
      }
      assert.ok(performance.now() - started < 3000);
      assert.ok(events.some((e) => e.type === 'message'));
    }
    assert.ok(queries.length > 0, 'the spy saw the queries');
    for (const q of queries) assert.ok(cp(q) <= MAX_VIEW_CODE_POINTS, `query of ${cp(q)} code points`);
  });
});
