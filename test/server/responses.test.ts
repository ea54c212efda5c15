import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';
import type { ScriptedEngine } from '../support/scripted-engine.ts';

describe('responses and messages', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ env: { RESPONSE_TIMEOUT_SECONDS: '2' } });
  });
  after(() => s.close());

  const newConversation = async (t: string, title?: string) =>
    (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: title ? { title } : {} })).json()
      .conversation_id as string;
  const ask = (t: string, conv: string, text: string) =>
    s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text } } });

  it('create returns 202 CREATED at once, then the answer completes', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const r = await ask(t, conv, 'How do I reset my VPN password?');
    assert.equal(r.statusCode, 202);
    const created = r.json();
    assert.match(created.response_id, /^resp_[0-9A-Za-z]{22}$/);
    assert.equal(created.conversation_id, conv);
    assert.equal(created.status, 'CREATED');
    assert.deepEqual(created.outputs, []);
    assert.equal(created.completed_at, null);
    assert.ok(r.headers['x-moveworks-root-uuid']);

    const done = await waitTerminal(s, t, conv, created.response_id);
    assert.equal(done['status'], 'COMPLETED');
    assert.ok(Date.parse(done['completed_at'] as string) >= Date.parse(created.created_at));
    assert.equal('error' in done, false, 'error only on FAILED');
    const outputs = done['outputs'] as { type: string; message?: Record<string, any>; reasoning_message?: Record<string, any> }[];
    assert.deepEqual(outputs.map((o) => o.type), ['REASONING_MESSAGE', 'MESSAGE'], 'reasoning first, then the message');
    assert.match(outputs[0]!.reasoning_message!['reasoning_message_id'], /^rs_/);
    const msg = outputs[1]!.message!;
    assert.equal(msg['actor'], 'ASSISTANT');
    assert.equal(msg['content'].type, 'COMMONMARK_TEXT');
    const text: string = msg['content'].commonmark_text.text;
    assert.ok(text.endsWith('You asked: How do I reset my VPN password?'));
    // offsets count code points: "Résumé 🙂 first sentence." is 24 code points (25 UTF-16 units)
    assert.deepEqual(msg['content_references'].map((r: { offset: number }) => r.offset), [24, 45]);
    assert.equal(msg['citations'].length, 2);
    const citeIds = new Set(msg['citations'].map((c: { citation_id: string }) => c.citation_id));
    for (const ref of msg['content_references']) assert.ok(citeIds.has(ref.citation_id), 'every reference names a citation');
    for (const c of msg['citations']) {
      assert.match(c.citation_id, /^cite_[0-9A-Za-z]{22}$/);
      assert.equal(c.display.title.type, 'COMMONMARK_TEXT');
    }
    assert.ok(msg['feedback'].helpful.callback_id && msg['feedback'].unhelpful.callback_id);
    assert.notEqual(msg['feedback'].helpful.callback_id, msg['feedback'].unhelpful.callback_id);
  });

  it('lists response messages assistant first then the input, and conversation messages newest first, paginated', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const r1 = (await ask(t, conv, 'first question')).json().response_id;
    await waitTerminal(s, t, conv, r1);
    const r2 = (await ask(t, conv, 'second question')).json().response_id;
    await waitTerminal(s, t, conv, r2);

    const rm = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/responses/${r2}/messages`, headers: s.headers(t) });
    assert.equal(rm.statusCode, 200);
    const msgs = rm.json().messages;
    // The order of the upstream page's example (contract §4): the assistant's message(s), then the user's input.
    assert.deepEqual(msgs.map((m: { actor: string }) => m.actor), ['ASSISTANT', 'USER']);
    assert.equal(msgs[1].content.type, 'PLAIN_TEXT');
    assert.equal(msgs[1].content.plain_text.text, 'second question');
    assert.equal(msgs[1].response_id, r2);
    assert.equal(msgs[0].response_id, r2);

    const page1 = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages?limit=3`, headers: s.headers(t) })).json();
    assert.equal(page1.messages.length, 3);
    assert.deepEqual(page1.messages.map((m: { actor: string }) => m.actor), ['ASSISTANT', 'USER', 'ASSISTANT']);
    assert.equal(page1.messages[1].content.plain_text.text, 'second question');
    const page2 = (
      await s.parley.app.inject({
        method: 'GET',
        url: `${BASE}/conversations/${conv}/messages?limit=3&cursor=${encodeURIComponent(page1.metadata.next_cursor)}`,
        headers: s.headers(t),
      })
    ).json();
    assert.deepEqual(page2.messages.map((m: { content: { plain_text?: { text: string } } }) => m.content.plain_text?.text), ['first question']);
    assert.equal(page2.metadata.next_cursor, null);
    const anyReasoning = [...page1.messages, ...page2.messages].some((m: Record<string, unknown>) => 'reasoning_message_id' in m);
    assert.equal(anyReasoning, false, 'never reasoning messages');
  });

  it('titles an untitled conversation after its first answer and bumps updated_at', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const before = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}`, headers: s.headers(t) })).json();
    assert.equal(before.title, undefined);
    const r = (await ask(t, conv, 'Where   is the\nmail room?')).json().response_id;
    await waitTerminal(s, t, conv, r);
    const after = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}`, headers: s.headers(t) })).json();
    assert.equal(after.title, 'Where is the mail room?');
    assert.ok(after.updated_at > before.updated_at);
    const titled = await newConversation(t, 'Mine');
    await waitTerminal(s, t, titled, (await ask(t, titled, 'anything')).json().response_id);
    const kept = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${titled}`, headers: s.headers(t) })).json();
    assert.equal(kept.title, 'Mine', 'a user title is never replaced');
  });

  it('answers one conversation FIFO, each seeing the history up to its own input', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const engine = s.engine as ScriptedEngine;
    const ids: string[] = [];
    for (const q of ['slow:30 one', 'two', 'three']) ids.push((await ask(t, conv, q)).json().response_id);
    const done = [];
    for (const id of ids) done.push(await waitTerminal(s, t, conv, id));
    const completed = done.map((d) => Date.parse(d['completed_at'] as string));
    assert.ok(completed[0]! <= completed[1]! && completed[1]! <= completed[2]!, 'completed in creation order');
    const seen = engine.seen.filter((r) => r.conversationId === conv);
    assert.deepEqual(seen.map((r) => r.input), ['slow:30 one', 'two', 'three']);
    assert.deepEqual(seen[2]!.history.map((h) => h.actor), ['USER', 'ASSISTANT', 'USER', 'ASSISTANT']);
    assert.equal(seen[2]!.history[0]!.text, 'slow:30 one');
    assert.equal(seen[2]!.history[1]!.citations[0]!.url, 'https://intranet.example/kb/doc-1');
  });

  it('ends FAILED with a clear error when the engine fails, and never leaks internals', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const failed = await waitTerminal(s, t, conv, (await ask(t, conv, 'fail')).json().response_id);
    assert.equal(failed['status'], 'FAILED');
    assert.deepEqual(failed['error'], { code: 'PROVIDER_ERROR', message: 'The language model provider returned an error.' });
    const crashed = await waitTerminal(s, t, conv, (await ask(t, conv, 'crash')).json().response_id);
    assert.equal(crashed['status'], 'FAILED');
    assert.equal((crashed['error'] as { code: string }).code, 'ENGINE_ERROR');
    assert.doesNotMatch(JSON.stringify(crashed), /passwd|SELECT/);
    const empty = await waitTerminal(s, t, conv, (await ask(t, conv, 'nothing')).json().response_id);
    assert.equal(empty['status'], 'FAILED');
    // the conversation goes on after failures
    const ok = await waitTerminal(s, t, conv, (await ask(t, conv, 'after failures')).json().response_id);
    assert.equal(ok['status'], 'COMPLETED');
  });

  it('fails a response that outlives responseTimeoutSeconds', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const id = (await ask(t, conv, 'hang')).json().response_id;
    const done = await waitTerminal(s, t, conv, id, 8000);
    assert.equal(done['status'], 'FAILED');
    assert.equal((done['error'] as { code: string }).code, 'TIMEOUT');
  });

  it('keeps citations unique and referenced, and references ascending, whatever the engine sends', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const done = await waitTerminal(s, t, conv, (await ask(t, conv, 'messy')).json().response_id);
    const msg = (done['outputs'] as { type: string; message: Record<string, any> }[]).find((o) => o.type === 'MESSAGE')!.message;
    assert.deepEqual(msg['citations'].map((c: { url: string }) => c.url), ['https://intranet.example/kb/a', 'https://intranet.example/kb/b']);
    const byId = new Map(msg['citations'].map((c: { citation_id: string; url: string }) => [c.citation_id, c.url.slice(-1)]));
    assert.deepEqual(
      msg['content_references'].map((r: { citation_id: string; offset: number }) => [byId.get(r.citation_id), r.offset]),
      [['a', 4], ['b', 9], ['a', 9]],
      'ascending offsets, unknown source dropped',
    );
  });

  it('validates input text', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const cases: unknown[] = [{}, { input: {} }, { input: { text: '' } }, { input: { text: '   ' } }, { input: { text: 5 } }, { input: 'hi' }, [], { input: { text: 'x'.repeat(32001) } }];
    for (const payload of cases) {
      const r = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: payload as object });
      assert.equal(r.statusCode, 400, JSON.stringify(payload).slice(0, 40));
      assert.equal(r.json().error.code, 'INVALID_INPUT');
    }
    const max = await ask(t, conv, '🙂'.repeat(32000));
    assert.equal(max.statusCode, 202, '32,000 code points is allowed');
    const list = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages`, headers: s.headers(t) })).json();
    assert.equal(list.messages.filter((m: { actor: string }) => m.actor === 'USER').length, 1, 'rejected inputs stored nothing');
  });

  it('ignores unknown fields', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const r = await s.parley.app.inject({
      method: 'POST',
      url: `${BASE}/conversations/${conv}/responses`,
      headers: s.headers(t),
      payload: { input: { text: 'hello', extra: 1 }, unknown: true },
    });
    assert.equal(r.statusCode, 202);
  });
});
