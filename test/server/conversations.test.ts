import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE, startTestServer, type TestServer } from '../support/server.ts';

describe('conversations', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, token: string, payload?: unknown) =>
    s.parley.app.inject({ method, url: BASE + url, headers: s.headers(token), ...(payload === undefined ? {} : { payload: payload as object }) });

  it('creates with and without a title, trimming it', async () => {
    const t = await s.token();
    const a = await call('POST', '/conversations', t, { title: '  Laptop help  ' });
    assert.equal(a.statusCode, 201);
    const conv = a.json();
    assert.match(conv.conversation_id, /^conv_[0-9A-Za-z]{22}$/);
    assert.equal(conv.title, 'Laptop help');
    assert.equal(conv.archived, false);
    assert.ok(Date.parse(conv.created_at) > 0 && conv.created_at === conv.updated_at);
    const b = await s.parley.app.inject({ method: 'POST', url: BASE + '/conversations', headers: s.headers(t) });
    assert.equal(b.statusCode, 201, 'no body at all is allowed');
    assert.equal('title' in b.json(), false);
  });

  it('rejects empty and over-long titles', async () => {
    const t = await s.token();
    for (const title of ['   ', '', 'x'.repeat(257)]) {
      const r = await call('POST', '/conversations', t, { title });
      assert.equal(r.statusCode, 400, JSON.stringify(title));
      assert.equal(r.json().error.code, 'INVALID_INPUT');
    }
    const ok = await call('POST', '/conversations', t, { title: '🙂'.repeat(256) });
    assert.equal(ok.statusCode, 201, '256 code points (512 UTF-16 units) is allowed');
  });

  it('gets, renames and archives', async () => {
    const t = await s.token();
    const id = (await call('POST', '/conversations', t, {})).json().conversation_id;
    assert.equal((await call('GET', `/conversations/${id}`, t)).json().conversation_id, id);
    const p = await call('PATCH', `/conversations/${id}`, t, { title: 'Renamed', archived: true });
    assert.equal(p.statusCode, 200);
    assert.equal(p.json().title, 'Renamed');
    assert.equal(p.json().archived, true);
    const g = (await call('GET', `/conversations/${id}`, t)).json();
    assert.equal(g.archived, true);
    assert.ok(g.updated_at >= g.created_at);
    const bad = await call('PATCH', `/conversations/${id}`, t, { title: '' });
    assert.equal(bad.statusCode, 400);
    assert.equal((await call('GET', `/conversations/${id}`, t)).json().title, 'Renamed', 'a rejected patch changes nothing');
  });

  it('lists newest-updated first with stable cursors and an archived filter', async () => {
    const t = await s.token();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call('POST', '/conversations', t, { title: `c${i}` })).json().conversation_id);
    await call('PATCH', `/conversations/${ids[0]}`, t, { archived: true });
    const p1 = await call('GET', '/conversations?limit=2', t);
    assert.equal(p1.statusCode, 200);
    const b1 = p1.json();
    assert.deepEqual(b1.conversations.map((c: { title: string }) => c.title), ['c4', 'c3']);
    assert.equal(typeof b1.metadata.next_cursor, 'string');
    // a new conversation arriving between pages does not disturb the next page
    await call('POST', '/conversations', t, { title: 'late' });
    const b2 = (await call('GET', `/conversations?limit=2&cursor=${encodeURIComponent(b1.metadata.next_cursor)}`, t)).json();
    assert.deepEqual(b2.conversations.map((c: { title: string }) => c.title), ['c2', 'c1']);
    assert.equal(b2.metadata.next_cursor, null, 'the last page has no next cursor');
    const arch = (await call('GET', '/conversations?archived=true', t)).json();
    assert.deepEqual(arch.conversations.map((c: { title: string }) => c.title), ['c0']);
    assert.equal(arch.metadata.next_cursor, null);
  });

  it('keeps each user to their own conversations', async () => {
    const alice = await s.token();
    const bob = await s.token();
    const id = (await call('POST', '/conversations', alice, { title: 'private' })).json().conversation_id;
    assert.equal((await call('GET', `/conversations/${id}`, bob)).statusCode, 404);
    assert.equal((await call('PATCH', `/conversations/${id}`, bob, { title: 'hijack' })).statusCode, 404);
    assert.equal((await call('GET', '/conversations', bob)).json().conversations.length, 0);
    assert.equal((await call('GET', `/conversations/${id}`, alice)).json().title, 'private');
  });

  it('answers 404 for malformed and unknown ids', async () => {
    const t = await s.token();
    for (const id of ['nope', 'conv_short', 'conv_0000000000000000000000', 'resp_0000000000000000000000', "conv_'; DROP TABLE x"]) {
      const r = await call('GET', `/conversations/${encodeURIComponent(id)}`, t);
      assert.equal(r.statusCode, 404, id);
      assert.deepEqual(Object.keys(r.json().error).sort(), ['code', 'message']);
      assert.equal(r.json().error.code, 'NOT_FOUND');
    }
  });

  it('validates limit and cursor', async () => {
    const t = await s.token();
    const other = await s.token();
    for (let i = 0; i < 3; i++) await call('POST', '/conversations', other, {});
    const foreign = (await call('GET', '/conversations?limit=1', other)).json().metadata.next_cursor as string;
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', 'limit=-1', 'limit=']) {
      const r = await call('GET', `/conversations?${q}`, t);
      assert.equal(r.statusCode, 400, q);
      assert.equal(r.json().error.code, 'INVALID_INPUT', q);
    }
    assert.equal((await call('GET', '/conversations?limit=100', t)).statusCode, 200);
    const tampered = foreign.slice(0, -2) + (foreign.endsWith('AA') ? 'BB' : 'AA');
    for (const cursor of ['garbage', foreign, tampered, 'a.b.c', '']) {
      const r = await call('GET', `/conversations?cursor=${encodeURIComponent(cursor)}`, t);
      assert.equal(r.statusCode, 400, cursor);
      assert.equal(r.json().error.code, 'INVALID_CURSOR', cursor);
    }
  });
});
