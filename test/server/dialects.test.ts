import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

const V1 = '/assistant/v1';

/** One core, thin dialects: V1 (`/assistant/v1`) differs only in shapes (contract §1). */
describe('dialects: /rest/v1beta1 and /assistant/v1', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it('serves the same conversations in both, with V1 events carrying created_at and BETA events not', async () => {
    const t = await s.token();
    const conv = (await s.parley.app.inject({ method: 'POST', url: `${V1}/conversations`, headers: s.headers(t), payload: { title: 'via v1' } })).json().conversation_id;
    const r = await s.parley.app.inject({ method: 'POST', url: `${V1}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'hello from v1' } } });
    assert.equal(r.statusCode, 202);
    await waitTerminal(s, t, conv, r.json().response_id);
    assert.equal((await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}`, headers: s.headers(t) })).json().title, 'via v1');
    const v1 = (await s.parley.app.inject({ method: 'GET', url: `${V1}/conversations/${conv}/events`, headers: s.headers(t) })).json();
    const beta = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/events`, headers: s.headers(t) })).json();
    assert.equal(v1.events.length, 1);
    assert.ok(Date.parse(v1.events[0].created_at) > 0);
    assert.equal('created_at' in beta.events[0], false, 'BETA events have no created_at (not in its schema)');
    const { created_at: _, ...rest } = v1.events[0];
    assert.deepEqual(rest, beta.events[0]);
  });

  it('takes exactly one of input.text or input.callback_id on V1; a callback naming no action is 400', async () => {
    const t = await s.token();
    const conv = (await s.parley.app.inject({ method: 'POST', url: `${V1}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id;
    for (const input of [{ callback_id: 'cb_unknown' }, { text: 'hi', callback_id: 'cb' }, {}]) {
      const r = await s.parley.app.inject({ method: 'POST', url: `${V1}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input } });
      assert.equal(r.statusCode, 400, JSON.stringify(input));
      assert.equal(r.json().error.code, 'INVALID_INPUT');
    }
    const beta = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { callback_id: 'cb' } } });
    assert.equal(beta.statusCode, 400, 'BETA has no callback input');
    const msgs = (await s.parley.app.inject({ method: 'GET', url: `${V1}/conversations/${conv}/messages`, headers: s.headers(t) })).json();
    assert.deepEqual(msgs.messages, [], 'nothing stored');
  });

  it('documents each dialect in its own document: /openapi.json (BETA) and /openapi.json?dialect=v1', async () => {
    const beta = (await s.parley.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const v1 = (await s.parley.app.inject({ method: 'GET', url: '/openapi.json?dialect=v1' })).json();
    for (const [doc, base] of [[beta, '/rest/v1beta1'], [v1, '/assistant/v1']] as const) {
      const paths = Object.keys(doc.paths as object);
      assert.equal(paths.filter((p) => p.startsWith('/assistant') || p.startsWith('/rest')).length, 0, 'paths are relative to the server');
      assert.ok(paths.includes('/conversations'));
      assert.deepEqual(doc.servers, [{ url: base }]);
    }
    // V1 shapes: events carry created_at, input may be a callback_id.
    const eventFields = (doc: typeof beta) => Object.keys(doc.components.schemas.ListEventsResponse.properties.events.items.properties as object);
    assert.ok(eventFields(v1).includes('created_at'));
    assert.ok(!eventFields(beta).includes('created_at'));
    assert.match(JSON.stringify(v1.components.schemas.CreateResponseRequest), /callback_id/);
    const bad = await s.parley.app.inject({ method: 'GET', url: '/openapi.json?dialect=v2' });
    assert.equal(bad.statusCode, 400);
  });
});
