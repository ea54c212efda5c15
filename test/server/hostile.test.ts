import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDb } from '../support/db.ts';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

/** Hostile input: every case gets the contract's answer, never a 500, and nothing stored changes. */
describe('hostile input', () => {
  let s: TestServer;
  let alice: string;
  let bob: string;
  let conv: string;
  let resp: string;
  let msg: Record<string, any>;

  before(async () => {
    s = await startTestServer();
    alice = await s.token();
    bob = await s.token();
    conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(alice), payload: { title: 'alice' } })).json().conversation_id;
    resp = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(alice), payload: { input: { text: 'hello' } } })).json()
      .response_id;
    const done = await waitTerminal(s, alice, conv, resp);
    msg = (done['outputs'] as { type: string; message: Record<string, any> }[]).find((o) => o.type === 'MESSAGE')!.message;
  });
  after(() => s.close());

  const snapshot = async () => {
    const db = await testDb();
    const [c] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM conversations WHERE id = $1 AND title = 'alice' AND archived = false`, [conv]);
    const [m] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1`, [conv]);
    const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM responses WHERE conversation_id = $1`, [conv]);
    const [f] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM feedback WHERE message_id = $1`, [msg['message_id']]);
    return { c: c!.n, m: m!.n, r: r!.n, f: f!.n };
  };

  it("hides another user's conversation, response, messages and feedback behind 404 on every endpoint", async () => {
    const before = await snapshot();
    const h = s.headers(bob);
    const calls: [string, string, unknown?][] = [
      ['GET', `/conversations/${conv}`],
      ['PATCH', `/conversations/${conv}`, { title: 'mine now', archived: true }],
      ['GET', `/conversations/${conv}/events`],
      ['POST', `/conversations/${conv}/responses`, { input: { text: 'inject' } }],
      ['POST', `/conversations/${conv}/responses/stream`, { input: { text: 'inject' } }],
      ['GET', `/conversations/${conv}/responses/${resp}`],
      ['GET', `/conversations/${conv}/responses/${resp}/stream`],
      ['GET', `/conversations/${conv}/messages`],
      ['GET', `/conversations/${conv}/responses/${resp}/messages`],
      ['POST', `/conversations/${conv}/responses/${resp}/messages/${msg['message_id']}/feedback`, { callback_id: msg['feedback'].helpful.callback_id }],
    ];
    for (const [method, url, payload] of calls) {
      const r = await s.parley.app.inject({ method: method as 'GET', url: BASE + url, headers: h, ...(payload ? { payload: payload as object } : {}) });
      assert.equal(r.statusCode, 404, `${method} ${url}`);
      assert.equal(r.json().error.code, 'NOT_FOUND');
      assert.doesNotMatch(r.body, /alice|hello/);
    }
    const events = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/-/events`, headers: h })).json();
    assert.deepEqual(events.events, [], "'-' only spans the caller's conversations");
    assert.deepEqual(await snapshot(), before);
  });

  it('rejects forged, cross-message and oversized feedback with 400, storing nothing', async () => {
    const before = await snapshot();
    const url = `${BASE}/conversations/${conv}/responses/${resp}/messages/${msg['message_id']}/feedback`;
    const other = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(alice), payload: { input: { text: 'second' } } })).json();
    const otherDone = await waitTerminal(s, alice, conv, other.response_id);
    const otherMsg = (otherDone['outputs'] as { type: string; message: Record<string, any> }[]).find((o) => o.type === 'MESSAGE')!.message;
    const good: string = msg['feedback'].helpful.callback_id;
    const [body, mac] = good.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ m: msg['message_id'], r: 'u' })).toString('base64url');
    const bad = [
      'not-a-callback',
      `${forgedPayload}.${mac}`,
      `${body}.AAAAAAAAAAAAAAAAAAAAAA`,
      otherMsg['feedback'].helpful.callback_id,
      '',
    ];
    for (const callback_id of bad) {
      const r = await s.parley.app.inject({ method: 'POST', url, headers: s.headers(alice), payload: { callback_id } });
      assert.equal(r.statusCode, 400, callback_id);
      assert.equal(r.json().error.code, 'INVALID_REQUEST', callback_id);
    }
    const long = await s.parley.app.inject({ method: 'POST', url, headers: s.headers(alice), payload: { callback_id: good, additional_feedback: '🙂'.repeat(1001) } });
    assert.equal(long.statusCode, 400);
    assert.equal(long.json().error.code, 'INVALID_REQUEST');
    const after = await snapshot();
    assert.equal(after.f, before.f, 'no feedback stored');
  });

  it('answers bad JSON, wrong content type and oversize bodies in the envelope', async () => {
    const before = await snapshot();
    const url = `${BASE}/conversations/${conv}/responses`;
    const cases: [Record<string, string>, string, number, string][] = [
      [{ 'content-type': 'application/json' }, '{"input": {"text": "hi"', 400, 'INVALID_INPUT'],
      [{ 'content-type': 'application/json' }, 'null', 400, 'INVALID_INPUT'],
      [{ 'content-type': 'text/plain' }, 'hello', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 'input=hi', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [{ 'content-type': 'application/json' }, JSON.stringify({ input: { text: 'x'.repeat(1024 * 1024 + 10) } }), 413, 'PAYLOAD_TOO_LARGE'],
      [{ 'content-type': 'application/json' }, '', 400, 'INVALID_INPUT'],
      [{ 'content-type': 'application/json' }, '{"__proto__": {"admin": true}, "input": {"text": 5}}', 400, 'INVALID_INPUT'],
    ];
    for (const [headers, payload, status, code] of cases) {
      const r = await s.parley.app.inject({ method: 'POST', url, headers: { ...s.headers(alice), ...headers }, payload });
      assert.equal(r.statusCode, status, `${headers['content-type']} ${payload.slice(0, 30)}`);
      assert.equal(r.json().error.code, code);
      assert.ok(r.headers['x-moveworks-root-uuid']);
      assert.doesNotMatch(r.body, /at .*\.ts:\d+|node_modules|stack/i, 'no stack traces');
    }
    assert.deepEqual(await snapshot(), before, 'nothing stored changed');
  });

  it('answers unreadable and over-long path ids with 404 in the envelope, with a trace id', async () => {
    for (const url of [`${BASE}/conversations/${'x'.repeat(5000)}`, `${BASE}/conversations/%E0%A4%A`, `${BASE}/conversations/conv_%F0%9F%99%82`]) {
      const r = await s.parley.app.inject({ method: 'GET', url, headers: s.headers(alice) });
      assert.equal(r.statusCode, 404, url.slice(0, 60));
      assert.equal(r.json().error.code, 'NOT_FOUND');
      assert.ok(r.headers['x-moveworks-root-uuid']);
    }
    const dup = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations?limit=1&limit=2`, headers: s.headers(alice) });
    assert.equal(dup.statusCode, 400);
    assert.equal(dup.json().error.code, 'INVALID_INPUT');
  });

  it('answers unknown routes with the envelope and a trace id', async () => {
    const r = await s.parley.app.inject({ method: 'GET', url: '/rest/v1beta1/nope' });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().error.code, 'NOT_FOUND');
    assert.match(String(r.headers['x-moveworks-root-uuid']), /^[0-9a-f-]{36}$/);
    const a = await s.parley.app.inject({ method: 'GET', url: '/healthz' });
    const b = await s.parley.app.inject({ method: 'GET', url: '/healthz' });
    assert.notEqual(a.headers['x-moveworks-root-uuid'], b.headers['x-moveworks-root-uuid'], 'fresh per request');
  });
});
