import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BASE, parseSse, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

describe('streaming (SSE)', () => {
  let s: TestServer;
  let port: number;
  before(async () => {
    s = await startTestServer({ env: { RESPONSE_TIMEOUT_SECONDS: '5' } });
    await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
    port = (s.parley.app.server.address() as AddressInfo).port;
  });
  after(() => s.close());

  const newConversation = async (t: string) =>
    (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id as string;

  /** A raw HTTP request over a real socket; resolves with status, headers and the body text as it arrived. */
  function raw(method: string, path: string, headers: Record<string, string>, body?: string, onData?: (chunk: string) => void) {
    return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          onData?.(c);
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      });
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
  }

  it('streams framed events in order, snapshots growing, one terminal event, then closes', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const res = await raw('POST', `${BASE}/conversations/${conv}/responses/stream`, { ...s.headers(t), accept: 'text/event-stream' }, JSON.stringify({ input: { text: 'stream me' } }));
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    assert.ok(res.headers['x-moveworks-root-uuid']);
    assert.ok(res.headers['ratelimit-limit'], 'rate limit headers on the stream too');
    // every frame is exactly id/event/data lines then a blank line
    for (const block of res.text.split('\n\n').filter((b) => b && !b.startsWith(':'))) {
      assert.match(block, /^id: \d+\nevent: [A-Z_]+\ndata: \{.*\}$/);
    }
    const { events } = parseSse(res.text);
    const seqs = events.map((e) => Number(e.id));
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'ids 1..n without gaps');
    const types = events.map((e) => e.event);
    assert.equal(types[0], 'RESPONSE_CREATED');
    assert.equal(types[1], 'RESPONSE_IN_PROGRESS');
    assert.equal(types.at(-1), 'RESPONSE_COMPLETED');
    assert.equal(types.filter((x) => x === 'RESPONSE_COMPLETED' || x === 'RESPONSE_FAILED').length, 1);
    assert.ok(types.slice(2, -1).every((x) => x === 'RESPONSE_OUTPUT_DELTA'));
    const datas = events.map((e) => JSON.parse(e.data!));
    datas.forEach((d, i) => {
      assert.equal(d.sequence_number, i + 1);
      assert.equal(d.event_type, types[i]);
    });
    assert.equal(datas[0].response.status, 'CREATED');
    assert.equal(datas[1].response.status, 'IN_PROGRESS');
    const deltas = datas.filter((d) => d.event_type === 'RESPONSE_OUTPUT_DELTA');
    assert.equal(deltas.filter((d) => d.output.type === 'REASONING_MESSAGE').length, 1, 'reasoning sent once, whole');
    const snaps = deltas.filter((d) => d.output.type === 'MESSAGE').map((d) => d.output.message);
    assert.ok(snaps.length >= 2);
    assert.equal(new Set(snaps.map((m) => m.message_id)).size, 1, 'snapshots share one message_id');
    for (let i = 1; i < snaps.length; i++) assert.ok(snaps[i].content.commonmark_text.text.startsWith(snaps[i - 1].content.commonmark_text.text.slice(0, 10)));
    const last = snaps.at(-1);
    const final = datas.at(-1).response;
    assert.equal(final.status, 'COMPLETED');
    const finalMsg = final.outputs.find((o: { type: string }) => o.type === 'MESSAGE').message;
    assert.deepEqual(last, finalMsg, 'the last snapshot equals the final message, feedback included');
    assert.ok(last.feedback.helpful.callback_id);
    // polling reads the same truth
    const polled = await waitTerminal(s, t, conv, final.response_id);
    assert.deepEqual(polled, final);
  });

  it('sends keep-alive comments while nothing else happens', async () => {
    // the keep-alive interval is read per stream from config: shorten it for this one
    (s.parley.deps.config as { keepAliveSeconds: number }).keepAliveSeconds = 0.05;
    const t = await s.token();
    const conv = await newConversation(t);
    const res = await raw('POST', `${BASE}/conversations/${conv}/responses/stream`, s.headers(t), JSON.stringify({ input: { text: 'slow:150 please' } }));
    (s.parley.deps.config as { keepAliveSeconds: number }).keepAliveSeconds = 15;
    const { comments, events } = parseSse(res.text);
    assert.ok(comments.includes(': keep-alive'), 'keep-alive comment present');
    assert.equal(events.at(-1)!.event, 'RESPONSE_COMPLETED');
  });

  it('keeps a long silent stream alive: keep-alive comments inside every silent stretch, at the configured interval (at most 15 s)', async () => {
    // Contract §5: a keep-alive at least every 15 s while nothing else is sent. The interval is configuration
    // (default 15, more refused); shortened here so that the engine's 600 ms silences each span many intervals.
    const { loadConfig, ConfigError } = await import('../../src/config.ts');
    assert.equal(loadConfig({}).keepAliveSeconds, 15);
    assert.throws(() => loadConfig({}, { keepAliveSeconds: 16 }), ConfigError);
    (s.parley.deps.config as { keepAliveSeconds: number }).keepAliveSeconds = 0.05;
    try {
      const t = await s.token();
      const conv = await newConversation(t);
      const res = await raw('POST', `${BASE}/conversations/${conv}/responses/stream`, s.headers(t), JSON.stringify({ input: { text: 'slow:600 quiet' } }));
      // The wire in order: each block is an event or a comment.
      const blocks = res.text.split('\n\n').filter(Boolean);
      const stretches: number[] = [];
      let comments = 0;
      for (const b of blocks) {
        if (b === ': keep-alive') comments++;
        else {
          stretches.push(comments);
          comments = 0;
        }
      }
      const events = blocks.filter((b) => !b.startsWith(':')).map((b) => /event: (\w+)/.exec(b)![1]);
      // The three silent pauses of the engine come before the 2nd and 3rd snapshot and before the completion.
      assert.equal(events.at(-1), 'RESPONSE_COMPLETED');
      const deltas = events.map((e, i) => [e, i] as const).filter(([e]) => e === 'RESPONSE_OUTPUT_DELTA').map(([, i]) => i);
      const silences = [deltas[2]!, deltas[3]!];
      for (const i of silences) assert.ok(stretches[i]! >= 1, `keep-alives before event ${i}: ${JSON.stringify(stretches)}`);
    } finally {
      (s.parley.deps.config as { keepAliveSeconds: number }).keepAliveSeconds = 15;
    }
  });

  it('a closed connection does not cancel the response; resume replays after Last-Event-ID', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    let responseId = '';
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: `${BASE}/conversations/${conv}/responses/stream`, headers: { ...s.headers(t), 'content-type': 'application/json' } },
        (res) => {
          res.setEncoding('utf8');
          res.once('data', (c: string) => {
            responseId = JSON.parse(parseSse(c).events[0]!.data!).response.response_id;
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (e) => (responseId ? undefined : reject(e)));
      req.end(JSON.stringify({ input: { text: 'slow:40 keep going' } }));
    });
    const done = await waitTerminal(s, t, conv, responseId);
    assert.equal(done['status'], 'COMPLETED', 'the answer finished without a listener');
    const full = parseSse((await raw('GET', `${BASE}/conversations/${conv}/responses/${responseId}/stream`, s.headers(t))).text).events;
    assert.equal(full[0]!.id, '1');
    assert.equal(full.at(-1)!.event, 'RESPONSE_COMPLETED');
    const resumed = parseSse((await raw('GET', `${BASE}/conversations/${conv}/responses/${responseId}/stream`, { ...s.headers(t), 'last-event-id': '3' })).text).events;
    assert.deepEqual(resumed.map((e) => e.id), full.slice(3).map((e) => e.id));
    const byQuery = parseSse((await raw('GET', `${BASE}/conversations/${conv}/responses/${responseId}/stream?starting_after=2`, s.headers(t))).text).events;
    assert.deepEqual(byQuery.map((e) => e.id), full.slice(2).map((e) => e.id));
    assert.deepEqual(byQuery.map((e) => e.data), full.slice(2).map((e) => e.data), 'replay is byte-identical');
  });

  it('resume from the final event (or past it) closes at once; from earlier replays and closes', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const created = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'finish first' } } })).json();
    await waitTerminal(s, t, conv, created.response_id);
    const url = `http://127.0.0.1:${port}${BASE}/conversations/${conv}/responses/${created.response_id}/stream`;
    const full = parseSse(await (await fetch(url, { headers: s.headers(t), signal: AbortSignal.timeout(5000) })).text()).events;
    const final = Number(full.at(-1)!.id);
    assert.equal(full.at(-1)!.event, 'RESPONSE_COMPLETED');
    // Before the fix this answered 200 and then only keep-alives, forever: the 5 s abort turns that into a failure.
    for (const last of [String(final), String(final + 7)]) {
      const res = await fetch(url, { headers: { ...s.headers(t), 'last-event-id': last }, signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      assert.deepEqual(parseSse(await res.text()).events, [], `nothing after ${last}, and the stream ended`);
    }
    const tail = parseSse(await (await fetch(url, { headers: { ...s.headers(t), 'last-event-id': String(final - 1) }, signal: AbortSignal.timeout(5000) })).text()).events;
    assert.deepEqual(tail.map((e) => e.event), ['RESPONSE_COMPLETED']);
  });

  it('a POST stream retried with its Idempotency-Key and Last-Event-ID resumes that response after that event', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const key = `k-${conv}`;
    const body = JSON.stringify({ input: { text: 'slow:60 resume me' } });
    const headers = { ...s.headers(t), 'idempotency-key': key, accept: 'text/event-stream' };
    // The first attempt drops after its first event, as a flaky network would.
    let firstId = '';
    let responseId = '';
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: `${BASE}/conversations/${conv}/responses/stream`, headers: { ...headers, 'content-type': 'application/json' } },
        (res) => {
          res.setEncoding('utf8');
          res.once('data', (c: string) => {
            const ev = parseSse(c).events[0]!;
            firstId = ev.id!;
            responseId = JSON.parse(ev.data!).response.response_id;
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (e) => (responseId ? undefined : reject(e)));
      req.end(body);
    });
    assert.equal(firstId, '1');
    const retried = await raw('POST', `${BASE}/conversations/${conv}/responses/stream`, { ...headers, 'last-event-id': firstId }, body);
    assert.equal(retried.status, 200);
    const ev = parseSse(retried.text).events;
    assert.equal(ev[0]!.id, '2', 'continues after the last event the client saw, not at event 1');
    assert.equal(ev.at(-1)!.event, 'RESPONSE_COMPLETED');
    assert.deepEqual(ev.map((e) => Number(e.id)), ev.map((_, i) => i + 2));
    assert.equal(JSON.parse(ev.at(-1)!.data!).response.response_id, responseId, 'the same response, not a second one');
    const msgs = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages`, headers: s.headers(t) })).json().messages;
    assert.deepEqual(msgs.map((m: { actor: string }) => m.actor), ['ASSISTANT', 'USER'], 'one question, one answer');
    // Retried once more from the final event: nothing to send, and the stream closes.
    const again = await raw('POST', `${BASE}/conversations/${conv}/responses/stream`, { ...headers, 'last-event-id': ev.at(-1)!.id! }, body);
    assert.deepEqual(parseSse(again.text).events, []);
    // A malformed Last-Event-ID is refused before anything is created.
    const bad = await raw('POST', `${BASE}/conversations/${conv}/responses/stream`, { ...s.headers(t), 'last-event-id': 'x1' }, body);
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.text).error.code, 'INVALID_INPUT');
  });

  it('resume of a live response continues until the terminal event', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const created = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'slow:60 live' } } })).json();
    const res = await raw('GET', `${BASE}/conversations/${conv}/responses/${created.response_id}/stream`, s.headers(t));
    const ev = parseSse(res.text).events;
    assert.equal(ev[0]!.event, 'RESPONSE_CREATED');
    assert.equal(ev.at(-1)!.event, 'RESPONSE_COMPLETED');
  });

  it('a failed answer ends with RESPONSE_FAILED carrying the error', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const res = await raw('POST', `${BASE}/conversations/${conv}/responses/stream`, s.headers(t), JSON.stringify({ input: { text: 'fail' } }));
    const ev = parseSse(res.text).events;
    assert.equal(ev.at(-1)!.event, 'RESPONSE_FAILED');
    const data = JSON.parse(ev.at(-1)!.data!);
    assert.equal(data.response.status, 'FAILED');
    assert.equal(data.response.error.code, 'PROVIDER_ERROR');
    assert.equal(ev.filter((e) => e.event === 'ERROR').length, 0, 'ERROR is only for faults of the stream itself');
  });

  it('errors before the stream starts are ordinary JSON', async () => {
    const t = await s.token();
    const conv = await newConversation(t);
    const body = JSON.stringify({ input: { text: 'hi' } });
    const cases: [Record<string, string>, string, number, string][] = [
      [{ 'assistant-name': 'acmecorp-conversations-rest-api' }, conv, 401, 'UNAUTHORIZED'],
      [{ ...s.headers(t), accept: 'application/json' }, conv, 406, 'NOT_ACCEPTABLE'],
      [s.headers(t), 'conv_0000000000000000000000', 404, 'NOT_FOUND'],
      [{ ...s.headers(t), 'assistant-name': 'nope' }, conv, 403, 'FORBIDDEN'],
    ];
    for (const [headers, c, status, code] of cases) {
      const r = await raw('POST', `${BASE}/conversations/${c}/responses/stream`, headers, body);
      assert.equal(r.status, status, code);
      assert.match(String(r.headers['content-type']), /application\/json/);
      assert.equal(JSON.parse(r.text).error.code, code);
      assert.ok(r.headers['x-moveworks-root-uuid']);
    }
    const bad = await raw('POST', `${BASE}/conversations/${conv}/responses/stream`, s.headers(t), JSON.stringify({ input: { text: '' } }));
    assert.equal(bad.status, 400);
    for (const accept of ['*/*', 'text/event-stream', 'application/json, text/event-stream;q=0.9']) {
      const ok = await raw('POST', `${BASE}/conversations/${conv}/responses/stream`, { ...s.headers(t), accept }, body);
      assert.equal(ok.status, 200, accept);
    }
    const resumeBad = await raw('GET', `${BASE}/conversations/${conv}/responses/resp_0000000000000000000000/stream`, s.headers(t));
    assert.equal(resumeBad.status, 404);
  });
});
