import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripMarkers } from '../../src/assistant/llm/markers.ts';

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
