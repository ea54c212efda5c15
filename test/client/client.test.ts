import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  BadRequestError,
  ForbiddenError,
  NetworkError,
  NotFoundError,
  ParleyClient,
  ParleyError,
  UnauthorizedError,
  type StreamEvent,
} from '../../src/client/index.ts';
import { exportFeedback } from '../../src/core/feedback.ts';
import { ASSISTANT, startTestServer, type TestServer } from '../support/server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Wraps fetch: event streams are cut (as a dropped connection) after `frames` events, `times` times. */
function droppingFetch(frames: number, times: number, log: { method: string; url: string; lastEventId: string | null }[]): typeof fetch {
  let drops = 0;
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    log.push({ method: init?.method ?? 'GET', url: String(input), lastEventId: headers.get('last-event-id') });
    const res = await fetch(input, init);
    if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream') || drops >= times) return res;
    drops++;
    const reader = res.body.getReader();
    let seen = 0;
    const cut = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        const { done, value } = await reader.read();
        if (done) return ctrl.close();
        // Pass whole events only, then fail like a reset connection.
        const text = new TextDecoder().decode(value);
        const events = text.split('\n\n').filter((b) => b.startsWith('id:'));
        if (seen + events.length > frames) {
          const keep = text.split('\n\n').filter((b) => b.startsWith('id:')).slice(0, frames - seen);
          if (keep.length) ctrl.enqueue(new TextEncoder().encode(keep.join('\n\n') + '\n\n'));
          await reader.cancel();
          ctrl.error(new TypeError('network connection was lost'));
          return;
        }
        seen += events.length;
        ctrl.enqueue(value);
      },
      cancel: () => reader.cancel(),
    });
    return new Response(cut, { status: res.status, headers: res.headers });
  };
}

describe('parley/client against a real server', () => {
  let s: TestServer;
  let baseUrl: string;
  before(async () => {
    s = await startTestServer({ env: { RESPONSE_TIMEOUT_SECONDS: '20' } });
    await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(s.parley.app.server.address() as AddressInfo).port}`;
  });
  after(() => s.close());

  const client = async (extra: Partial<ConstructorParameters<typeof ParleyClient>[0]> = {}) =>
    new ParleyClient({ baseUrl, token: await s.token(), assistant: ASSISTANT, retryDelayMs: 5, ...extra });

  it('creates, gets, renames and archives conversations, and lists them across cursor pages', async () => {
    const c = await client();
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await c.createConversation({ title: `Topic ${i}` }));
    assert.match(made[0]!.conversation_id, /^conv_/);
    assert.equal((await c.getConversation(made[0]!.conversation_id)).title, 'Topic 0');
    assert.equal((await c.renameConversation(made[1]!.conversation_id, '  Renamed  ')).title, 'Renamed');
    assert.equal((await c.archiveConversation(made[2]!.conversation_id)).archived, true);

    const pages: number[] = [];
    const seen: string[] = [];
    await c.archiveConversation(made[2]!.conversation_id, false);
    for await (const conv of c.listConversations({ limit: 2 })) seen.push(conv.conversation_id);
    // every conversation once, fetched two at a time
    assert.equal(seen.length, 5);
    assert.deepEqual(new Set(seen), new Set(made.map((m) => m.conversation_id)));
    await c.archiveConversation(made[2]!.conversation_id);
    let page = await c.conversationsPage({ limit: 2, archived: true });
    assert.deepEqual(page.items.map((x) => x.conversation_id), [made[2]!.conversation_id]);
    page = await c.conversationsPage({ limit: 2 });
    pages.push(page.items.length);
    while (page.nextCursor) {
      page = await c.conversationsPage({ limit: 2, cursor: page.nextCursor });
      pages.push(page.items.length);
    }
    assert.deepEqual(pages, [2, 2]);
    const active = [];
    for await (const conv of c.listConversations({ archived: false })) active.push(conv.conversation_id);
    assert.equal(active.length, 4);
    assert.ok(!active.includes(made[2]!.conversation_id));

    // Delete (extension): gone for good; deleting again is NotFoundError.
    await c.deleteConversation(made[3]!.conversation_id);
    await assert.rejects(c.getConversation(made[3]!.conversation_id), NotFoundError);
    await assert.rejects(c.deleteConversation(made[3]!.conversation_id), NotFoundError);
  });

  it('ask() yields every event once, in order, typed, ending with the completed response', async () => {
    const c = await client();
    const conv = await c.createConversation();
    const answer = c.ask(conv.conversation_id, 'hello client');
    const events: StreamEvent[] = [];
    for await (const ev of answer) events.push(ev);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i + 1));
    assert.equal(events[0]!.event_type, 'RESPONSE_CREATED');
    const last = events.at(-1)!;
    assert.equal(last.event_type, 'RESPONSE_COMPLETED');
    assert.ok(answer.responseId?.startsWith('resp_'));
    assert.equal(answer.lastSequence, events.length);
    if (last.event_type !== 'RESPONSE_COMPLETED') return;
    const ref = { conversationId: conv.conversation_id, responseId: answer.responseId! };
    assert.deepEqual(await c.getResponse(ref), last.response);
    const messages = await c.responseMessages(ref);
    assert.deepEqual(messages.map((m) => m.actor).sort(), ['ASSISTANT', 'USER']);
    const history = [];
    for await (const m of c.listMessages(conv.conversation_id, { limit: 1 })) history.push(m);
    assert.deepEqual(history.map((m) => m.actor), ['ASSISTANT', 'USER'], 'newest first, across one-item pages');

    // Following the same response again replays it from the event asked for.
    const replay = [];
    for await (const ev of c.streamResponse(ref, { afterSequence: 5 })) replay.push(ev.sequence_number);
    assert.deepEqual(replay, events.slice(5).map((e) => e.sequence_number));
    const none = [];
    for await (const ev of c.streamResponse(ref, { afterSequence: events.length })) none.push(ev);
    assert.deepEqual(none, [], 'after the final event: nothing, and the stream ends');
  });

  it('ask() resumes by itself after dropped connections, with Last-Event-ID and no duplicate event', async () => {
    const log: { method: string; url: string; lastEventId: string | null }[] = [];
    const c = await client({ fetch: droppingFetch(2, 3, log) });
    const conv = await c.createConversation();
    const answer = c.ask(conv.conversation_id, 'slow:60');
    const events: StreamEvent[] = [];
    for await (const ev of answer) events.push(ev);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i + 1), 'gap-free and no repeats');
    assert.equal(events.at(-1)!.event_type, 'RESPONSE_COMPLETED');
    assert.equal(answer.reconnects, 3);
    const resumes = log.filter((r) => r.method === 'GET' && r.url.endsWith('/stream'));
    assert.equal(resumes.length, 3);
    assert.deepEqual(resumes.map((r) => r.lastEventId), ['2', '4', '6']);
    // One question, one answer: the drops created nothing twice.
    const history = [];
    for await (const m of c.listMessages(conv.conversation_id)) history.push(m);
    assert.equal(history.length, 2);
  });

  it('retries a create whose answer was lost with the same Idempotency-Key, creating it once', async () => {
    const keys: string[] = [];
    let lose = 2;
    const lossy: typeof fetch = async (input, init) => {
      const key = new Headers(init?.headers).get('idempotency-key');
      if (key) keys.push(key);
      const res = await fetch(input, init);
      if (key && lose > 0) {
        lose--;
        await res.body?.cancel();
        throw new TypeError('fetch failed'); // the server did the work; the client never heard
      }
      return res;
    };
    const c = await client({ fetch: lossy });
    const conv = await c.createConversation({ title: 'once' });
    assert.equal(keys.length, 3, 'two lost answers, then the one heard');
    assert.equal(new Set(keys).size, 1, 'one key for all three');
    const all = [];
    for await (const x of c.listConversations()) all.push(x);
    assert.deepEqual(all.map((x) => x.conversation_id), [conv.conversation_id]);

    // The same for a question: the lost stream is re-sent, and the server replays the one response.
    lose = 1;
    keys.length = 0;
    const final = await c.ask(conv.conversation_id, 'asked once').final();
    assert.equal(final.status, 'COMPLETED');
    assert.ok(keys.length >= 2, 'the lost create was sent again');
    assert.equal(new Set(keys).size, 1, 'with the same key every time');
    const history = [];
    for await (const m of c.listMessages(conv.conversation_id)) history.push(m);
    assert.equal(history.filter((m) => m.actor === 'USER').length, 1);
  });

  it('rates a message with its own callback id, and the rating is stored', async () => {
    const c = await client();
    const conv = await c.createConversation();
    const final = await c.ask(conv.conversation_id, 'rate me').final();
    const item = final.outputs.find((o) => o.type === 'MESSAGE');
    assert.ok(item && item.type === 'MESSAGE');
    assert.deepEqual(await c.rate(item.message, 'unhelpful', 'too short'), { status: 'SUBMITTED' });
    const stored = (await exportFeedback(s.parley.deps, { assistant: ASSISTANT })).filter((f) => f.message_id === item.message.message_id);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.rating, 'UNHELPFUL');
    assert.equal(stored[0]!.comment, 'too short');
  });

  it('throws one error class per status, with the envelope code and the trace id', async () => {
    const c = await client();
    const missing = await c.getConversation('conv_0000000000000000000000').catch((e: unknown) => e);
    assert.ok(missing instanceof NotFoundError && missing instanceof ParleyError);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, 'NOT_FOUND');
    assert.match(missing.traceId ?? '', UUID);

    const conv = await c.createConversation();
    const empty = await c.ask(conv.conversation_id, '   ').next().catch((e: unknown) => e);
    assert.ok(empty instanceof BadRequestError);
    assert.equal(empty.code, 'INVALID_INPUT');

    const anon = new ParleyClient({ baseUrl, token: 'not-a-jwt', assistant: ASSISTANT });
    const unauth = await anon.listConversations().next().catch((e: unknown) => e);
    assert.ok(unauth instanceof UnauthorizedError);
    assert.equal(unauth.code, 'UNAUTHORIZED');

    const other = await client({ assistant: 'no-such-assistant' });
    const forbidden = await other.createConversation().catch((e: unknown) => e);
    assert.ok(forbidden instanceof ForbiddenError);
    assert.equal(forbidden.code, 'FORBIDDEN');
    assert.match(forbidden.traceId ?? '', UUID);

    // Nothing listening: a NetworkError after the configured retries.
    let calls = 0;
    const down = new ParleyClient({
      baseUrl: 'http://127.0.0.1:9',
      token: 't',
      assistant: ASSISTANT,
      maxRetries: 2,
      retryDelayMs: 1,
      fetch: (i, init) => {
        calls++;
        return fetch(i, init);
      },
    });
    const net = await down.getConversation('conv_x').catch((e: unknown) => e);
    assert.ok(net instanceof NetworkError);
    assert.equal(net.status, 0);
    assert.equal(calls, 3);
  });

  it('cancel() ends an unfinished response FAILED with CANCELLED, and the stream says so', async () => {
    const c = await client();
    const conv = await c.createConversation();
    const answer = c.ask(conv.conversation_id, 'hang');
    const first = await answer.next();
    assert.equal(first.done, false);
    const ref = { conversationId: conv.conversation_id, responseId: answer.responseId! };
    const cancelled = await c.cancel(ref);
    assert.equal(cancelled.status, 'FAILED');
    assert.equal(cancelled.error?.code, 'CANCELLED');
    const rest: StreamEvent[] = [];
    for await (const ev of answer) rest.push(ev);
    assert.equal(rest.at(-1)!.event_type, 'RESPONSE_FAILED');
    // A finished response comes back unchanged.
    const done = await c.ask(conv.conversation_id, 'after cancel').final();
    assert.deepEqual(await c.cancel({ conversationId: conv.conversation_id, responseId: done.response_id }), done);
    await assert.rejects(c.cancel({ conversationId: conv.conversation_id, responseId: 'resp_0000000000000000000000' }), NotFoundError);
  });

  it('another user sees none of the first user\'s conversations', async () => {
    const a = await client();
    const b = await client();
    const conv = await a.createConversation({ title: 'private' });
    const seen = [];
    for await (const x of b.listConversations()) seen.push(x);
    assert.deepEqual(seen, []);
    await assert.rejects(b.getConversation(conv.conversation_id), NotFoundError);
  });
});
