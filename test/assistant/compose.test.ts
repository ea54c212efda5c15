import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerBuilder } from '../../src/assistant/offline/compose.ts';
import type { EngineCitation } from '../../src/assistant/engine.ts';

const cite = (key: string): EngineCitation => ({ key, url: `https://x.test/${key}`, title: key, body: key, attributes: [] });

describe('AnswerBuilder', () => {
  it('places references just after each sentence, counting code points (emoji, CJK)', () => {
    const a = new AnswerBuilder();
    a.add('Party 🎉🎉 starts.', [cite('a')]);
    a.add('京都で会います。', [cite('b')]);
    a.add('Bring 👩‍👩‍👧 tickets.', [cite('a'), cite('b')]);
    const m = a.snapshot();
    const cp = (s: string) => Array.from(s).length;
    const first = 'Party 🎉🎉 starts.';
    const second = first + ' 京都で会います。';
    assert.deepEqual(m.references, [
      { key: 'a', offset: cp(first) },
      { key: 'b', offset: cp(second) },
      { key: 'a', offset: cp(m.text) },
      { key: 'b', offset: cp(m.text) },
    ]);
    assert.equal(cp(first), 16, 'each emoji is one code point although two UTF-16 units');
    assert.notEqual(first.length, cp(first));
    assert.deepEqual(m.citations.map((c) => c.key), ['a', 'b']);
  });

  it('puts a reference before the separator that follows, never after whitespace', () => {
    const a = new AnswerBuilder();
    a.add('Intro:', [cite('a')]);
    a.item('- one', [], true);
    a.item('- two', [cite('a')]);
    const m = a.snapshot();
    assert.equal(m.text, 'Intro:\n\n- one\n- two');
    assert.deepEqual(m.references.map((r) => r.offset), [6, Array.from(m.text).length]);
  });

  it('grows in snapshots that only carry citations referenced so far, the last one complete', () => {
    const a = new AnswerBuilder();
    for (let i = 0; i < 5; i++) a.add(`Sentence ${i}.`, [cite(`c${i}`)]);
    const snaps = a.snapshots(3);
    assert.ok(snaps.length >= 3);
    for (let i = 1; i < snaps.length; i++) assert.ok(snaps[i]!.text.startsWith(snaps[i - 1]!.text) && snaps[i]!.text.length > snaps[i - 1]!.text.length);
    for (const s of snaps) for (const c of s.citations) assert.ok(s.references.some((r) => r.key === c.key));
    assert.deepEqual(snaps.at(-1), a.snapshot());
    assert.equal(snaps.at(-1)!.citations.length, 5);
    assert.equal(snaps[0]!.citations.length < 5, true);
  });
});
