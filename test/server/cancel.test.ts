import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { EngineRequest } from '../../src/assistant/engine.ts';
import { ScriptedEngine } from '../support/scripted-engine.ts';
import { BASE, parseSse, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

/** Polls `check` every 20 ms until it is true; fails after `ms` (a generous bound: cancel promises 1 s). */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Cancel (extension, contract §4) with two nodes on one database: A serves HTTP only, B's worker answers.
 * Cancelling through A must stop B's engine, on the embedded database and on PostgreSQL alike.
 */
describe('cancel a response', () => {
  let a: TestServer;
  let b: TestServer;
  let engine: ScriptedEngine;
  let port: number;
  before(async () => {
    engine = new ScriptedEngine();
    a = await startTestServer({ worker: false, env: { RESPONSE_TIMEOUT_SECONDS: '60' } });
    b = await startTestServer({ engine, env: { RESPONSE_TIMEOUT_SECONDS: '60' } });
    await a.parley.app.listen({ host: '127.0.0.1', port: 0 });
    port = (a.parley.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  const newConversation = async (t: string, s = a) =>
    (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id as string;
  const ask = async (t: string, conv: string, text: string) =>
    (await a.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: a.headers(t), payload: { input: { text } } })).json()
      .response_id as string;
  const cancel = (t: string, conv: string, resp: string, base = BASE) =>
    a.parley.app.inject({ method: 'POST', url: `${base}/conversations/${conv}/responses/${resp}/cancel`, headers: a.headers(t) });

  it('ends an IN_PROGRESS response FAILED/CANCELLED on another node, aborts its engine and ends its stream', async () => {
    const t = await a.token();
    const conv = await newConversation(t);
    const resp = await ask(t, conv, 'hang');
    let seen: EngineRequest | undefined;
    await until('the worker on B starts answering', () => Boolean((seen = engine.seen.find((r) => r.responseId === resp))));
    // A stream open on node A while node B answers.
    const stream = fetch(`http://127.0.0.1:${port}${BASE}/conversations/${conv}/responses/${resp}/stream`, {
      headers: a.headers(t),
      signal: AbortSignal.timeout(10000),
    }).then((r) => r.text());
    const r = await cancel(t, conv, resp);
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.equal(body.status, 'FAILED');
    assert.deepEqual(body.error, { code: 'CANCELLED', message: 'The response was cancelled.' });
    assert.ok(body.completed_at);
    await until('the engine on node B is aborted', () => seen!.signal.aborted);
    const events = parseSse(await stream).events;
    assert.equal(events.at(-1)!.event, 'RESPONSE_FAILED');
    assert.equal(JSON.parse(events.at(-1)!.data!).response.error.code, 'CANCELLED');
    assert.equal(events.filter((e) => e.event === 'RESPONSE_FAILED' || e.event === 'RESPONSE_COMPLETED').length, 1);
    // Polled from either node: the same FAILED response; cancelling again changes nothing.
    assert.deepEqual(await waitTerminal(b, t, conv, resp), body);
    const again = await cancel(t, conv, resp);
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.json(), body);
    // The worker is free again: the next question in the conversation is answered.
    const next = await ask(t, conv, 'after the cancel');
    assert.equal((await waitTerminal(a, t, conv, next))['status'], 'COMPLETED');
  });

  it('ends a CREATED response that no worker has claimed, and it is never answered', async () => {
    const t = await a.token();
    // On a node with no worker, a response waits in CREATED while its conversation's earlier one hangs.
    const conv = await newConversation(t);
    const first = await ask(t, conv, 'hang');
    const second = await ask(t, conv, 'queued behind');
    const r = await cancel(t, conv, second);
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().status, 'FAILED');
    assert.equal(r.json().error.code, 'CANCELLED');
    assert.deepEqual(r.json().outputs, []);
    await cancel(t, conv, first);
    await waitTerminal(a, t, conv, first);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(engine.seen.filter((q) => q.responseId === second).length, 0, 'the cancelled response was never given to an engine');
    const log = parseSse(await (await fetch(`http://127.0.0.1:${port}${BASE}/conversations/${conv}/responses/${second}/stream`, { headers: a.headers(t), signal: AbortSignal.timeout(5000) })).text()).events;
    assert.deepEqual(log.map((e) => e.event), ['RESPONSE_CREATED', 'RESPONSE_FAILED']);
  });

  it('returns a finished response unchanged, in both dialects, and 404 for anyone else’s', async () => {
    const t = await a.token();
    const conv = await newConversation(t);
    const resp = await ask(t, conv, 'answer me');
    const done = await waitTerminal(a, t, conv, resp);
    assert.equal(done['status'], 'COMPLETED');
    for (const base of [BASE, '/assistant/v1']) {
      const r = await cancel(t, conv, resp, base);
      assert.equal(r.statusCode, 200, base);
      assert.deepEqual(r.json(), done);
    }
    // A JSON body is accepted too (clients that always send one).
    const withBody = await a.parley.app.inject({
      method: 'POST',
      url: `${BASE}/conversations/${conv}/responses/${resp}/cancel`,
      headers: { ...a.headers(t), 'content-type': 'application/json' },
      payload: '{}',
    });
    assert.equal(withBody.statusCode, 200);
    const other = await cancel(await a.token(), conv, resp);
    assert.equal(other.statusCode, 404);
    assert.equal(other.json().error.code, 'NOT_FOUND');
    const bad = await cancel(t, conv, 'resp_nope');
    assert.equal(bad.statusCode, 404);
  });
});
