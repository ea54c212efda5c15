import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripMarkers } from '../../src/assistant/llm/markers.ts';
import { referenceStripMarkers } from './markers-reference.ts';

/** Code-point offset just after the first occurrence of `needle` in `text`. */
function after(text: string, needle: string): number {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${JSON.stringify(needle)} not in ${JSON.stringify(text)}`);
  return Array.from(text.slice(0, at + needle.length)).length;
}

describe('stripMarkers', () => {
  it('removes single, adjacent, comma-separated and spaced markers', () => {
    const r = stripMarkers('One.[1] Two [2]. Three [1][3]. Four.[2, 4] Five [1] [2].', true);
    assert.equal(r.text, 'One. Two. Three. Four. Five.');
    assert.deepEqual(r.refs, [
      { n: 1, offset: after(r.text, 'One.') },
      { n: 2, offset: after(r.text, 'Two.') },
      { n: 1, offset: after(r.text, 'Three.') },
      { n: 3, offset: after(r.text, 'Three.') },
      { n: 2, offset: after(r.text, 'Four.') },
      { n: 4, offset: after(r.text, 'Four.') },
      { n: 1, offset: after(r.text, 'Five.') },
      { n: 2, offset: after(r.text, 'Five.') },
    ]);
  });

  it('counts offsets in code points across emoji and CJK', () => {
    const r = stripMarkers('Reset it 🔑 in Settings.[1] 重置密码请联系 IT 部门。[2] Done 👍🏽 [3]', true);
    assert.equal(r.text, 'Reset it 🔑 in Settings. 重置密码请联系 IT 部门。 Done 👍🏽');
    assert.deepEqual(
      r.refs.map((x) => x.offset),
      [after(r.text, 'Settings.'), after(r.text, '部门。'), Array.from(r.text).length],
    );
    // 🔑 is one code point but two UTF-16 units: the first offset must not be the UTF-16 index.
    assert.notEqual(r.refs[0]?.offset, r.text.indexOf('Settings.') + 'Settings.'.length);
  });

  it('points a marker written before the full stop to after it, and at line ends before the newline', () => {
    const r = stripMarkers('The VPN is required [1].\n[2] Next line\nEnd of list: see above [3]\n', true);
    assert.equal(r.text, 'The VPN is required.\nNext line\nEnd of list: see above\n');
    assert.deepEqual(r.refs, [
      { n: 1, offset: after(r.text, 'required.') },
      { n: 2, offset: after(r.text, 'required.') },
      { n: 3, offset: after(r.text, 'see above') },
    ]);
  });

  it('keeps brackets that are not markers: code spans, link texts, words', () => {
    const src = 'Use `items[0]` or ``a[1]`` here. See [1](https://x.example) and [the policy] and [v2].';
    const r = stripMarkers(src, true);
    assert.equal(r.text, src);
    assert.deepEqual(r.refs, []);
  });

  it('while streaming, never shows a partial marker and each snapshot is a prefix of the final text', () => {
    const full = 'Passwords expire after 90 days [1]. Reset them at the portal.[2][3] 密码。[1, 4] Fin [5]';
    const final = stripMarkers(full, true).text;
    let previous = '';
    for (let i = 0; i <= full.length; i++) {
      const { text } = stripMarkers(full.slice(0, i), false);
      assert.doesNotMatch(text, /\[\s*\d/, `prefix ${i}: ${text}`);
      assert.ok(final.startsWith(text), `prefix ${i}: ${JSON.stringify(text)} is not a prefix of the final text`);
      assert.ok(text.startsWith(previous), `prefix ${i}: snapshot shrank`);
      previous = text;
    }
    assert.equal(final, 'Passwords expire after 90 days. Reset them at the portal. 密码。 Fin');
  });

  it('holds back an unfinished marker while streaming but releases a lone bracket once it is not one', () => {
    assert.equal(stripMarkers('Done. [1', false).text, 'Done.');
    assert.equal(stripMarkers('Done. [1, ', false).text, 'Done.');
    assert.equal(stripMarkers('See [the', false).text, 'See [the');
    assert.equal(stripMarkers('Done. [1', true).text, 'Done. [1');
  });
});

/** Small deterministic PRNG (mulberry32), so a failing case can be reproduced from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Pieces that exercise every branch: brackets, digits (incl. 5-digit numbers), commas, spaces, tabs, newlines,
// other whitespace, closing punctuation, link parentheses, backtick runs, astral and CJK characters.
const PIECES = ['[', ']', '1', '23', '12345', ',', ' ', '\t', '\n', '\u00a0', '.', '。', ')', '(', '`', '``', 'a', 'Foo', '🔑', '密'];

describe('stripMarkers on hostile model output', () => {
  it('agrees with the former regex implementation on thousands of random short texts, streaming or final', () => {
    const rand = prng(20261126);
    for (let c = 0; c < 4000; c++) {
      const len = Math.floor(rand() * 16);
      let s = '';
      for (let k = 0; k < len; k++) s += PIECES[Math.floor(rand() * PIECES.length)];
      for (const final of [true, false]) {
        assert.deepEqual(stripMarkers(s, final), referenceStripMarkers(s, final), `case ${c} ${JSON.stringify(s)} final=${final}`);
      }
    }
  });

  it('agrees with the former implementation on the existing examples, at every streaming prefix', () => {
    const examples = [
      'One.[1] Two [2]. Three [1][3]. Four.[2, 4] Five [1] [2].',
      'Reset it 🔑 in Settings.[1] 重置密码请联系 IT 部门。[2] Done 👍🏽 [3]',
      'The VPN is required [1].\n[2] Next line\nEnd of list: see above [3]\n',
      'Use `items[0]` or ``a[1]`` here. See [1](https://x.example) and [the policy] and [v2].',
      'x [1] [2](url) y [3]   \n  [4]\t[5] , [6,7 ,8]. `a [1] ``[2]`',
    ];
    for (const full of examples) {
      for (let i = 0; i <= full.length; i++) {
        const prefix = full.slice(0, i);
        assert.deepEqual(stripMarkers(prefix, false), referenceStripMarkers(prefix, false), JSON.stringify(prefix));
        assert.deepEqual(stripMarkers(prefix, true), referenceStripMarkers(prefix, true), JSON.stringify(prefix));
      }
    }
  });

  it('is linear: 10k-character adversarial texts finish quickly (the tail pattern once froze a node 27 s)', () => {
    const adversarial: Record<string, string> = {
      'reported tail': '[\t '.repeat(18) + 'x',
      'long tail': '[\t '.repeat(3333) + 'x',
      'open brackets': '['.repeat(10_000),
      'unclosed list': '[' + '1,'.repeat(5000),
      'runs before a link': '[1] '.repeat(2500) + '(',
      'adjacent runs before a link': '[1]'.repeat(3333) + '(',
      'spaces before markers': 'a' + ' '.repeat(5000) + '[1]'.repeat(1600),
      'newlines before markers': '\n'.repeat(5000) + '[1]\n'.repeat(1250),
      'markers after words': 'a [1]'.repeat(2000),
      'backtick runs of every length': Array.from({ length: 135 }, (_, k) => '`'.repeat(k + 1) + ' ').join(''),
      'unclosed code spans': '` `` '.repeat(2000),
      'whitespace and pieces': ' [1, \t[2'.repeat(1250),
    };
    for (const [name, text] of Object.entries(adversarial)) {
      for (const final of [true, false]) {
        const started = performance.now();
        const r = stripMarkers(text, final);
        const ms = performance.now() - started;
        assert.ok(ms < 200, `${name} (final=${final}) took ${ms.toFixed(0)} ms`);
        assert.ok(r.text.length <= text.length);
      }
    }
  });

  it('still strips and places markers in a long answer', () => {
    const sentence = 'Reset it in Settings [1]. ';
    const r = stripMarkers(sentence.repeat(400), true);
    assert.equal(r.text, 'Reset it in Settings. '.repeat(400));
    assert.equal(r.refs.length, 400);
    assert.deepEqual(r.refs[399], { n: 1, offset: 'Reset it in Settings. '.length * 399 + 'Reset it in Settings.'.length });
  });
});
