import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { derivedId, idTimestamp, isId, newId } from '../../src/protocol/ids.ts';

/** Contract §3: `<prefix>_<22 base-62>`, 48 bits of milliseconds then 80 random bits, sorting by creation time. */
describe('identifiers', () => {
  it('have the prefix, 22 base-62 characters and the creation millisecond', () => {
    // The factory is monotonic (a time earlier than an id already made borrows that id's millisecond), so the
    // time under test is the live clock, never a fixed date the clock will pass.
    const at = Date.now() + 1;
    for (const prefix of ['conv', 'resp', 'msg', 'rs', 'cite', 'evt'] as const) {
      const id = newId(prefix, at);
      assert.match(id, new RegExp(`^${prefix}_[0-9A-Za-z]{22}$`));
      assert.ok(isId(prefix, id));
      assert.equal(idTimestamp(id), at);
    }
    assert.equal(isId('conv', 'resp_' + 'a'.repeat(22)), false);
    assert.equal(isId('conv', 'conv_' + 'a'.repeat(21)), false);
  });

  it('sort by creation time as strings, also within one millisecond', () => {
    const ids: string[] = [];
    const base = Date.now();
    for (let i = 0; i < 2000; i++) ids.push(newId('msg', base + Math.floor(i / 500)));
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('derived ids (outputs of a retried answer) are well formed, the same for the same arguments, ordered by ordinal', () => {
    const at = Date.now();
    const a = derivedId('msg', at, 'resp_x:1', 1);
    assert.ok(isId('msg', a));
    assert.equal(idTimestamp(a), at);
    assert.equal(derivedId('msg', at, 'resp_x:1', 1), a);
    assert.notEqual(derivedId('msg', at, 'resp_y:1', 1), a);
    assert.notEqual(derivedId('rs', at, 'resp_x:1', 1).slice(3), a.slice(4));
    const ordered = [0, 1, 2, 3, 10].map((n) => derivedId('rs', at, `resp_x:${n}`, n));
    assert.deepEqual([...ordered].sort(), ordered);
  });
});
