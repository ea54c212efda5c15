import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { exportFeedback } from '../../src/core/feedback.ts';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

describe('feedback, events, idempotency and rate limits', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ env: { RATE_LIMIT_MAX: '1000' } });
  });
  after(() => s.close());

  const newConv = async (t: string) => (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id as string;
  const answer = async (t: string, conv: string, text: string) => {
    const id = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text } } })).json().response_id;
    const done = await waitTerminal(s, t, conv, id);
    return { id, msg: (done['outputs'] as { type: string; message: Record<string, any> }[]).find((o) => o.type === 'MESSAGE')!.message };
  };

  it('stores feedback, latest rating wins, and exports it', async () => {
    const t = await s.token();
    const conv = await newConv(t);
    const { id, msg } = await answer(t, conv, 'rate me');
    const url = `${BASE}/conversations/${conv}/responses/${id}/messages/${msg['message_id']}/feedback`;
    const up = await s.parley.app.inject({ method: 'POST', url, headers: s.headers(t), payload: { callback_id: msg['feedback'].helpful.callback_id, additional_feedback: 'clear' } });
    assert.equal(up.statusCode, 200);
    assert.deepEqual(up.json(), { status: 'SUBMITTED' });
    const down = await s.parley.app.inject({ method: 'POST', url, headers: s.headers(t), payload: { callback_id: msg['feedback'].unhelpful.callback_id, additional_feedback: 'actually wrong 🙂' } });
    assert.equal(down.statusCode, 200);
    const rows = (await exportFeedback(s.parley.deps)).filter((f) => f.message_id === msg['message_id']);
    assert.equal(rows.length, 1, 'resubmitting replaces');
    assert.equal(rows[0]!.rating, 'UNHELPFUL');
    assert.equal(rows[0]!.comment, 'actually wrong 🙂');
    assert.equal(rows[0]!.assistant, 'acmecorp-conversations-rest-api');
    // the user message of the response does not take feedback
    const userMsg = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/responses/${id}/messages`, headers: s.headers(t) })).json().messages.find((m: { actor: string }) => m.actor === 'USER');
    const r = await s.parley.app.inject({
      method: 'POST',
      url: `${BASE}/conversations/${conv}/responses/${id}/messages/${userMsg.message_id}/feedback`,
      headers: s.headers(t),
      payload: { callback_id: msg['feedback'].helpful.callback_id },
    });
    assert.equal(r.statusCode, 400, 'a user message does not support feedback');
    assert.equal(r.json().error.code, 'INVALID_REQUEST');
  });

  it('lists final messages as events, per conversation and across all with -', async () => {
    const t = await s.token();
    const c1 = await newConv(t);
    const c2 = await newConv(t);
    await answer(t, c1, 'one');
    await answer(t, c2, 'two');
    await answer(t, c1, 'three');
    const all = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/-/events`, headers: s.headers(t) })).json();
    assert.equal(all.events.length, 3);
    assert.deepEqual(all.events.map((e: { conversation_id: string }) => e.conversation_id), [c1, c2, c1], 'oldest first');
    for (const e of all.events) {
      assert.match(e.event_id, /^evt_/);
      assert.equal(e.event_payload.type, 'MESSAGE_EVENT');
      assert.equal(e.event_payload.message.actor, 'ASSISTANT');
    }
    const one = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${c1}/events`, headers: s.headers(t) })).json();
    assert.equal(one.events.length, 2);
    const [e1, e2, e3] = all.events.map((e: { event_id: string }) => e.event_id);
    const after1 = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/-/events?starting_after=${e1}`, headers: s.headers(t) })).json();
    assert.deepEqual(after1.events.map((e: { event_id: string }) => e.event_id), [e2, e3], 'starting_after is exclusive');
    const window = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/-/events?starting_after=${e1}&ending_at=${e2}`, headers: s.headers(t) })).json();
    assert.deepEqual(window.events.map((e: { event_id: string }) => e.event_id), [e2], 'ending_at is inclusive');
    const paged = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/-/events?limit=2`, headers: s.headers(t) })).json();
    assert.equal(paged.events.length, 2);
    const rest = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/-/events?limit=2&cursor=${encodeURIComponent(paged.metadata.next_cursor)}`, headers: s.headers(t) })).json();
    assert.deepEqual(rest.events.map((e: { event_id: string }) => e.event_id), [e3]);
    assert.equal(rest.metadata.next_cursor, null);
    const bad = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/-/events?starting_after=${e2}&ending_at=${e1}`, headers: s.headers(t) });
    assert.equal(bad.statusCode, 400);
  });

  it('honours Idempotency-Key: same body replays, different body 422', async () => {
    const t = await s.token();
    const key = `k-${Date.now()}`;
    const h = s.headers(t, { 'idempotency-key': key });
    const a = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: h, payload: { title: 'once' } });
    const b = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: h, payload: { title: 'once' } });
    assert.equal(a.statusCode, 201);
    assert.equal(b.statusCode, 201);
    assert.deepEqual(b.json(), a.json(), 'the original result');
    const list = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: s.headers(t) })).json();
    assert.equal(list.conversations.length, 1, 'created once');
    const c = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: h, payload: { title: 'different' } });
    assert.equal(c.statusCode, 422);
    assert.equal(c.json().error.code, 'IDEMPOTENCY_KEY_REUSED');

    const conv = a.json().conversation_id;
    const rh = s.headers(t, { 'idempotency-key': `r-${key}` });
    const r1 = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: rh, payload: { input: { text: 'only once' } } });
    const r2 = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: rh, payload: { input: { text: 'only once' } } });
    assert.equal(r2.json().response_id, r1.json().response_id);
    await waitTerminal(s, t, conv, r1.json().response_id);
    const msgs = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages`, headers: s.headers(t) })).json().messages;
    assert.equal(msgs.filter((m: { actor: string }) => m.actor === 'USER').length, 1, 'no second response was created');
    // another user with the same key is independent
    const other = await s.token();
    const o = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(other, { 'idempotency-key': key }), payload: { title: 'different' } });
    assert.equal(o.statusCode, 201);
  });

  it('honours Idempotency-Key on the stream endpoint: the replay streams the original response', async () => {
    const t = await s.token();
    const conv = await newConv(t);
    const h = s.headers(t, { 'idempotency-key': `stream-${Date.now()}` });
    const first = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses/stream`, headers: h, payload: { input: { text: 'once' } } });
    const again = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses/stream`, headers: h, payload: { input: { text: 'once' } } });
    const idOf = (body: string) => JSON.parse(body.split('data: ')[1]!.split('\n')[0]!).response.response_id as string;
    assert.equal(idOf(again.body), idOf(first.body));
    assert.equal(again.body, first.body, 'the same events, byte for byte');
    const msgs = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages`, headers: s.headers(t) })).json().messages;
    assert.equal(msgs.filter((m: { actor: string }) => m.actor === 'USER').length, 1, 'one response');
  });

  it('rate-limits per user with headers and Retry-After', async () => {
    const limited = await startTestServer({ env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_SECONDS: '60' } });
    try {
      const t = await limited.token();
      const other = await limited.token();
      const codes: number[] = [];
      let last;
      for (let i = 0; i < 5; i++) {
        last = await limited.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: limited.headers(t) });
        codes.push(last.statusCode);
      }
      assert.deepEqual(codes, [200, 200, 200, 429, 429]);
      assert.equal(last!.json().error.code, 'RATE_LIMIT_EXCEEDED');
      assert.ok(Number(last!.headers['retry-after']) >= 1);
      assert.equal(last!.headers['ratelimit-remaining'], '0');
      assert.ok(last!.headers['x-moveworks-root-uuid']);
      const fresh = await limited.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: limited.headers(other) });
      assert.equal(fresh.statusCode, 200, 'limits are per user');
    } finally {
      await limited.close();
    }
  });
});
