// NUL and lone surrogates: PostgreSQL cannot store NUL (it used to surface as a 500), and lone surrogates are not
// text (two subjects differing by one would collapse into one user). Both are refused at the door.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { findIllFormed } from '../../src/http/wire-strings.ts';
import { uniq } from '../support/db.ts';
import { BASE, TEST_SECRET, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

const NUL = 'a\u0000b';
const LONE = 'a\ud800b';

describe('ill-formed strings are 400 (401 in tokens), never 500', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const expect400 = (r: { statusCode: number; json: () => any }, what: string, code = 'INVALID_INPUT') => {
    assert.equal(r.statusCode, 400, what);
    assert.equal(r.json().error.code, code, what);
    assert.equal(typeof r.json().error.message, 'string', what);
  };

  it('in question text, titles and feedback', async () => {
    const t = await s.token();
    for (const bad of [NUL, LONE]) {
      const created = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: { title: bad } });
      expect400(created, `create title ${JSON.stringify(bad)}`);
    }
    const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id;
    for (const bad of [NUL, LONE]) {
      expect400(await s.parley.app.inject({ method: 'PATCH', url: `${BASE}/conversations/${conv}`, headers: s.headers(t), payload: { title: bad } }), 'rename');
      expect400(await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: bad } } }), 'ask');
      expect400(
        await s.parley.app.inject({ method: 'POST', url: `/assistant/v1/conversations/${conv}/responses/stream`, headers: s.headers(t), payload: { input: { text: bad } } }),
        'ask and stream (V1)',
      );
    }
    // Nothing half-stored: the conversation has no messages.
    const msgs = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages`, headers: s.headers(t) });
    assert.deepEqual(msgs.json().messages ?? msgs.json().data ?? [], []);

    const id = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'rate me' } } })).json().response_id;
    const done = await waitTerminal(s, t, conv, id);
    const msg = (done['outputs'] as { type: string; message: Record<string, any> }[]).find((o) => o.type === 'MESSAGE')!.message;
    const url = `${BASE}/conversations/${conv}/responses/${id}/messages/${msg['message_id']}/feedback`;
    for (const bad of [NUL, LONE]) {
      const r = await s.parley.app.inject({ method: 'POST', url, headers: s.headers(t), payload: { callback_id: msg['feedback'].helpful.callback_id, additional_feedback: bad } });
      expect400(r, 'feedback', 'INVALID_REQUEST');
    }
    // Ordinary text with emoji, tabs and newlines is fine.
    const fine = await s.parley.app.inject({ method: 'POST', url, headers: s.headers(t), payload: { callback_id: msg['feedback'].helpful.callback_id, additional_feedback: 'ok 🙂\tline\nnext' } });
    assert.equal(fine.statusCode, 200);
  });

  it('in path and query parameters', async () => {
    const t = await s.token();
    const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id;
    expect400(await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/conv_%00abc`, headers: s.headers(t) }), 'path');
    expect400(await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations?cursor=%00`, headers: s.headers(t) }), 'cursor');
    expect400(await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/events?starting_after=%00`, headers: s.headers(t) }), 'events query');
  });

  it('in admin ingest bodies', async () => {
    const admin = await s.token({ groups: ['parley-admins'] });
    const doc = { path: 'n.md', format: 'markdown', title: 'N', url: 'https://kb.example.test/n', updatedAt: null, access: ['*'] };
    for (const body of [`nul ${NUL}`, `lone ${LONE}`]) {
      const r = await s.parley.app.inject({
        method: 'POST',
        url: '/admin/v1/ingest',
        headers: { authorization: `Bearer ${admin}` },
        payload: { assistant: uniq('asst'), root: '/r', prune: false, documents: [{ ...doc, body }], people: [] },
      });
      expect400(r, 'ingest');
      assert.match(r.json().error.message, /^documents\[0\]\.body:/);
    }
  });

  it("in a token's sub, email, name or groups: 401", async () => {
    const hs = new TextEncoder().encode(TEST_SECRET);
    const mk = (sub: string, claims: Record<string, unknown> = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('parley').setAudience('parley').setExpirationTime('5m').sign(hs);
    const cases: [string, string][] = [
      ['sub NUL', await mk(`u${NUL}`)],
      ['sub lone surrogate', await mk(`u${LONE}`)],
      ['email NUL', await mk('u-ok', { email: `x${NUL}@example.test` })],
      ['name lone', await mk('u-ok', { name: LONE })],
      ['group NUL', await mk('u-ok', { groups: ['hr', NUL] })],
    ];
    for (const [what, token] of cases) {
      const r = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(token), payload: {} });
      assert.equal(r.statusCode, 401, what);
      assert.equal(r.json().error.code, 'UNAUTHORIZED', what);
    }
    // Two subjects differing only by a lone surrogate can no longer become one user: the first is refused.
    assert.equal((await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: s.headers(await mk('\ud800')) })).statusCode, 401);
  });

  it('findIllFormed names the first bad place, keys included', () => {
    assert.equal(findIllFormed({ a: ['ok', { b: NUL }] }), 'a[1].b');
    assert.equal(findIllFormed({ [LONE]: 1 }), 'a?b');
    assert.equal(findIllFormed({ a: 'fine 🙂 \t\n', b: [1, null, true] }), null);
  });
});
