import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { isPrivateAddress } from '../../src/actions/http-call.ts';
import { Spec, loadSpecFile, operationKey } from '../../src/tools/conformance/spec.ts';
import { ASSISTANT, BASE, parseSse, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';
import { runConformance } from '../../src/tools/conformance/run.ts';
import { formatResult } from '../../src/tools/conformance/runner.ts';
import { onPostgres, uniq } from '../support/db.ts';
import { startFakeOpenAI } from '../llm/fake-openai.ts';
import { pino } from 'pino';
import { withActions } from '../../src/actions/engine.ts';
import { demoPlugins, startDemoPluginService } from '../../src/actions/demo.ts';
import { bestPlugin, knowledgeScore } from '../../src/actions/match.ts';
import { runPlugin } from '../../src/actions/run.ts';
import { ScriptedEngine } from '../support/scripted-engine.ts';

const V1 = '/assistant/v1';
const FIXTURE = fileURLToPath(new URL('../tools/fixtures/v1-actions-openapi.yaml', import.meta.url));
const SECRET = 'sk-test-very-secret-value-42';

/** The company system a plugin calls: a real socket, recording every request it gets. */
interface FakeService {
  url: string;
  seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  close(): Promise<void>;
}

async function startService(): Promise<FakeService> {
  const seen: FakeService['seen'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/reset') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ request_id: `R-${seen.length}`, note: '<img src=x onerror=alert(1)> [click](javascript:alert(1))' }));
      } else if (path.startsWith('/echo')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ got: body, path: req.url }));
      } else if (path === '/slow') {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{}');
        }, 3000);
      } else if (path === '/big') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: 'x'.repeat(64 * 1024) }));
      } else if (path === '/fail') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(`{"error":"backend exploded with ${SECRET}"}`);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The plugins of these tests, pointed at the fake service. */
function plugins(svc: string): Record<string, unknown>[] {
  return [
    {
      name: 'zap-password',
      description: 'Zap your frobnicator password',
      when: { examples: ['zap my frobnicator password', 'please zap my frobnicator password'] },
      inputs: { email: { from: 'user.email' }, pin: { default: '1234', secret: true } },
      request: { method: 'POST', url: `${svc}/reset`, headers: { authorization: 'Bearer ${env:TEST_PLUGIN_KEY}' }, body: { account: '{{email}}', pin: '{{pin}}' } },
      confirm: true,
      confirmText: 'Zap the frobnicator password of {{email}}?',
      allowPrivateNetwork: true,
      result: { text: 'Zapped ({{result.request_id}}): {{result.note}}', url: `${svc}/requests/{{result.request_id}}`, urlLabel: 'See the request' },
    },
    {
      name: 'quux-search',
      description: 'Search the quux register',
      when: { examples: ['search the quux register'] },
      inputs: { q: { from: 'question' } },
      request: { method: 'POST', url: `${svc}/echo/{{q}}?q={{q}}`, body: { query: '{{q}}', nested: ['{{q}}'] } },
      allowPrivateNetwork: true,
      result: { text: 'Register says: {{result.got}}' },
    },
    {
      name: 'grue-lookup',
      description: 'Look up grue sightings',
      when: { examples: ['look up grue sightings'] },
      request: { method: 'GET', url: `${svc}/reset` },
      allow: ['group:grue-wardens'],
      allowPrivateNetwork: true,
      result: { text: 'Sightings: {{result.request_id}}' },
    },
    {
      name: 'blocked-call',
      description: 'Ping the internal blorp service',
      when: { examples: ['ping the internal blorp service'] },
      request: { method: 'GET', url: `${svc}/reset` },
      result: { text: 'pong' },
    },
    {
      name: 'blocked-by-name',
      description: 'Ping the blorp service by name',
      when: { examples: ['ping the blorp service by name'] },
      request: { method: 'GET', url: `${svc.replace('127.0.0.1', 'localhost')}/reset` },
      result: { text: 'pong' },
    },
    {
      name: 'slow-call',
      description: 'Wake the sleepy snark',
      when: { examples: ['wake the sleepy snark'] },
      request: { method: 'GET', url: `${svc}/slow`, timeoutMs: 300 },
      allowPrivateNetwork: true,
    },
    {
      name: 'big-call',
      description: 'Fetch the huge bandersnatch',
      when: { examples: ['fetch the huge bandersnatch'] },
      request: { method: 'GET', url: `${svc}/big`, maxResponseBytes: 1024 },
      allowPrivateNetwork: true,
    },
    {
      name: 'failing-call',
      description: 'Poke the broken jabberwock',
      when: { examples: ['poke the broken jabberwock'] },
      request: { method: 'GET', url: `${svc}/fail`, headers: { 'x-key': '${env:TEST_PLUGIN_KEY}' } },
      allowPrivateNetwork: true,
    },
  ];
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('actions: plugins behind confirmation buttons (issue 10)', () => {
  let svc: FakeService;
  let s: TestServer;
  let spec: Spec;
  const ajv = new Ajv2020Module.default({ strict: false, allErrors: true });
  addFormatsModule.default(ajv);

  before(async () => {
    svc = await startService();
    s = await startTestServer({ env: { TEST_PLUGIN_KEY: SECRET }, config: { plugins: plugins(svc.url) } });
    spec = new Spec(loadSpecFile(FIXTURE));
    ajv.addSchema({ ...spec.doc, $id: 'v1' }, undefined, undefined, false);
  });
  after(async () => {
    await s.close();
    await svc.close();
  });

  const inject = (method: 'GET' | 'POST', url: string, token: string, payload?: unknown) =>
    s.parley.app.inject({ method, url, headers: s.headers(token), ...(payload === undefined ? {} : { payload: payload as Json }) });

  const newConv = async (t: string, base = V1) => (await inject('POST', `${base}/conversations`, t, {})).json().conversation_id as string;

  /** Asks, waits, returns the final response (V1 or BETA shape) and the assistant message. */
  async function ask(t: string, conv: string, input: Json, base = V1): Promise<{ response: Json; message: Json; id: string }> {
    const r = await inject('POST', `${base}/conversations/${conv}/responses`, t, { input });
    assert.equal(r.statusCode, 202, r.body);
    const id = r.json().response_id as string;
    await waitTerminal(s, t, conv, id);
    const response = (await inject('GET', `${base}/conversations/${conv}/responses/${id}`, t)).json();
    const message = response.outputs.find((o: Json) => o.type === 'MESSAGE')?.message;
    return { response, message, id };
  }

  const validate = (label: string, status: number, body: unknown) => {
    const [method, path] = label.split(' ');
    const op = spec.operation(operationKey(method!, path!))!;
    const v = spec.validateResponse(op, status, 'application/json', body);
    assert.deepEqual(v.errors, [], `${label} ${status} against the V1 schema`);
  };
  const validRequest = (body: unknown) => ajv.validate({ $ref: 'v1#/components/schemas/CreateResponseRequest' }, body);

  const calls = (path: string) => svc.seen.filter((r) => r.url.startsWith(path)).length;

  it('offers Confirm / Cancel CALLBACK_ACTIONs in V1 and runs the call once when confirmed', async () => {
    const t = await s.token({ email: 'ada@example.com' });
    const conv = await newConv(t);
    const before = calls('/reset');
    const offer = await ask(t, conv, { text: 'Please zap my frobnicator password' });
    validate('GET /conversations/{}/responses/{}', 200, offer.response);
    assert.match(offer.message.content.commonmark_text.text, /Zap the frobnicator password of ada@example\.com\?/);
    assert.match(offer.message.content.commonmark_text.text, /reply \*\*yes\*\* to confirm/i);
    assert.doesNotMatch(offer.message.content.commonmark_text.text, /1234/, 'secret inputs are not shown');
    assert.deepEqual(offer.message.actions.map((a: Json) => [a.type, a.label]), [['CALLBACK_ACTION', 'Confirm'], ['CALLBACK_ACTION', 'Cancel']]);
    assert.equal(calls('/reset'), before, 'nothing is called before the user confirms');

    const confirm = offer.message.actions[0].callback_action.callback_id as string;
    const body = { input: { callback_id: confirm } };
    assert.ok(validRequest(body), 'the callback input is V1 CreateResponseRequest');
    const created = await inject('POST', `${V1}/conversations/${conv}/responses`, t, body);
    assert.equal(created.statusCode, 202);
    validate('POST /conversations/{}/responses', 202, created.json());
    const id = created.json().response_id as string;
    await waitTerminal(s, t, conv, id);
    const done = (await inject('GET', `${V1}/conversations/${conv}/responses/${id}`, t)).json();
    validate('GET /conversations/{}/responses/{}', 200, done);
    const answer = done.outputs.find((o: Json) => o.type === 'MESSAGE').message;
    const text = answer.content.commonmark_text.text as string;
    assert.match(text, /^Zapped \(R-\d+\)/);
    assert.match(text, /\\<img/, 'markup from the service is escaped');
    assert.doesNotMatch(text, /(^|[^\\])<img|(^|[^\\])\[click/, 'values from the service are text, never markup');
    assert.deepEqual(answer.actions, [{ type: 'URL_ACTION', label: 'See the request', url_action: { url: `${svc.url}/requests/${/R-\d+/.exec(text)![0]}` } }]);

    assert.equal(calls('/reset'), before + 1, 'called exactly once');
    const req = svc.seen.filter((r) => r.url === '/reset').at(-1)!;
    assert.equal(req.headers.authorization, `Bearer ${SECRET}`, 'the secret from the environment is sent');
    assert.deepEqual(JSON.parse(req.body), { account: 'ada@example.com', pin: '1234' });

    // The user's message is the callback, echoed as CALLBACK_ACTION_CONTENT.
    const msgs = (await inject('GET', `${V1}/conversations/${conv}/responses/${id}/messages`, t)).json();
    validate('GET /conversations/{}/responses/{}/messages', 200, msgs);
    const user = msgs.messages.find((m: Json) => m.actor === 'USER');
    assert.deepEqual(user.content, { type: 'CALLBACK_ACTION_CONTENT', callback_action: { callback_id: confirm } });

    // A second use of the id: 400 in the contract's envelope, nothing stored, nothing called.
    const again = await inject('POST', `${V1}/conversations/${conv}/responses`, t, body);
    assert.equal(again.statusCode, 400);
    validate('POST /conversations/{}/responses', 400, again.json());
    assert.equal(again.json().error.code, 'INVALID_INPUT');
    const cancelToo = await inject('POST', `${V1}/conversations/${conv}/responses`, t, { input: { callback_id: offer.message.actions[1].callback_action.callback_id } });
    assert.equal(cancelToo.statusCode, 400, 'the other button of a decided confirmation is spent too');
    assert.equal(calls('/reset'), before + 1);

    // The BETA dialect shows the same conversation in its own shapes: no actions, the button as plain text.
    const beta = (await inject('GET', `${BASE}/conversations/${conv}/messages`, t)).json();
    assert.equal(beta.messages.some((m: Json) => 'actions' in m), false);
    assert.ok(beta.messages.some((m: Json) => m.actor === 'USER' && m.content.type === 'PLAIN_TEXT' && m.content.plain_text.text === 'Confirm'));
    const betaOffer = (await inject('GET', `${BASE}/conversations/${conv}/responses/${offer.id}`, t)).json();
    assert.equal(JSON.stringify(betaOffer).includes('"actions"'), false);
    const stream = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/responses/${offer.id}/stream`, headers: s.headers(t) });
    const frames = parseSse(stream.body).events;
    assert.ok(frames.length >= 3);
    assert.equal(frames.some((f) => f.data?.includes('"actions"')), false, 'BETA streams carry no actions');
    const v1Stream = await s.parley.app.inject({ method: 'GET', url: `${V1}/conversations/${conv}/responses/${offer.id}/stream`, headers: s.headers(t) });
    assert.ok(parseSse(v1Stream.body).events.some((f) => f.data?.includes('"CALLBACK_ACTION"')), 'V1 streams do');
  });

  it('Cancel calls nothing; a callback id is bound to its user and conversation', async () => {
    const t = await s.token({ email: 'bob@example.com' });
    const conv = await newConv(t);
    const before = calls('/reset');
    const offer = await ask(t, conv, { text: 'zap my frobnicator password' });
    const [confirm, cancel] = offer.message.actions.map((a: Json) => a.callback_action.callback_id as string);

    const mallory = await s.token({ email: 'mallory@example.com' });
    const theirs = await newConv(mallory);
    for (const [token, c] of [[mallory, theirs], [t, await newConv(t)]] as const) {
      const r = await inject('POST', `${V1}/conversations/${c}/responses`, token, { input: { callback_id: confirm } });
      assert.equal(r.statusCode, 400, 'another user, or another conversation of the same user');
      assert.equal(r.json().error.code, 'INVALID_INPUT');
    }
    const forged = confirm.slice(0, -2) + (confirm.endsWith('AA') ? 'BB' : 'AA');
    assert.equal((await inject('POST', `${V1}/conversations/${conv}/responses`, t, { input: { callback_id: forged } })).statusCode, 400);

    const cancelled = await ask(t, conv, { callback_id: cancel });
    assert.match(cancelled.message.content.commonmark_text.text, /Cancelled: nothing was done/);
    assert.equal((await inject('POST', `${V1}/conversations/${conv}/responses`, t, { input: { callback_id: confirm } })).statusCode, 400);
    assert.equal(calls('/reset'), before);
  });

  it('BETA: the confirmation is a follow-up question, answered by replying yes', async () => {
    const t = await s.token({ email: 'cy@example.com' });
    const conv = await newConv(t, BASE);
    const before = calls('/reset');
    const offer = await ask(t, conv, { text: 'zap my frobnicator password' }, BASE);
    assert.equal('actions' in offer.message, false);
    assert.match(offer.message.content.commonmark_text.text, /Reply \*\*yes\*\* to confirm or \*\*no\*\* to cancel/);
    const yes = await ask(t, conv, { text: 'yes' }, BASE);
    assert.match(yes.message.content.commonmark_text.text, /^Zapped \(R-\d+\)/);
    assert.match(yes.message.content.commonmark_text.text, /\[See the request\]\(http/, 'the link is in the text, as BETA has no URL_ACTION');
    assert.equal(calls('/reset'), before + 1);
    // A second "yes" confirms nothing more: it goes to the assistant like any question.
    const again = await ask(t, conv, { text: 'yes' }, BASE);
    assert.doesNotMatch(again.message.content.commonmark_text.text, /Zapped/);
    assert.equal(calls('/reset'), before + 1);
    // "no" cancels; a yes after an unrelated question confirms nothing.
    await ask(t, conv, { text: 'zap my frobnicator password' }, BASE);
    assert.match((await ask(t, conv, { text: 'no' }, BASE)).message.content.commonmark_text.text, /Cancelled/);
    await ask(t, conv, { text: 'zap my frobnicator password' }, BASE);
    await ask(t, conv, { text: 'what is the weather like' }, BASE);
    await ask(t, conv, { text: 'yes' }, BASE);
    assert.equal(calls('/reset'), before + 1);
  });

  it('runs a confirmed call exactly once when two requests, on two nodes, race the same callback id', async () => {
    const other = await startTestServer({ env: { TEST_PLUGIN_KEY: SECRET }, config: { plugins: plugins(svc.url) }, worker: false });
    try {
      for (let round = 0; round < 3; round++) {
        const t = await s.token({ email: `race${round}@example.com` });
        const conv = await newConv(t);
        const offer = await ask(t, conv, { text: 'zap my frobnicator password' });
        const before = calls('/reset');
        const body = { input: { callback_id: offer.message.actions[0].callback_action.callback_id } };
        const results = await Promise.all([
          s.parley.app.inject({ method: 'POST', url: `${V1}/conversations/${conv}/responses`, headers: s.headers(t), payload: body }),
          other.parley.app.inject({ method: 'POST', url: `${V1}/conversations/${conv}/responses`, headers: other.headers(t), payload: body }),
          s.parley.app.inject({ method: 'POST', url: `${V1}/conversations/${conv}/responses`, headers: s.headers(t), payload: body }),
        ]);
        const codes = results.map((r) => r.statusCode).sort();
        assert.deepEqual(codes, [202, 400, 400], `round ${round}: ${results.map((r) => r.body).join(' | ')}`);
        const won = results.find((r) => r.statusCode === 202)!.json().response_id as string;
        await waitTerminal(s, t, conv, won);
        assert.equal(calls('/reset'), before + 1, `round ${round}: one call`);
        const msgs = (await inject('GET', `${V1}/conversations/${conv}/messages`, t)).json();
        assert.equal(msgs.messages.filter((m: Json) => m.content.type === 'CALLBACK_ACTION_CONTENT').length, 1, 'one callback message stored');
      }
    } finally {
      await other.close();
    }
  });

  it('a retried answer to a confirmation reports the recorded outcome and never calls again', async () => {
    const sub = uniq('retry');
    const t = await s.token({ sub, email: 'retry@example.com' });
    const conv = await newConv(t);
    const offer = await ask(t, conv, { text: 'zap my frobnicator password' });
    const cb = offer.message.actions[0].callback_action.callback_id as string;
    const first = await ask(t, conv, { callback_id: cb });
    const before = calls('/reset');
    // What a second worker attempt of the same response would do (its first attempt died after the call).
    const engine = withActions(new ScriptedEngine(), {
      db: s.parley.db,
      keys: s.parley.deps.keys,
      plugins: s.parley.config.plugins,
      knowledge: s.parley.knowledge,
      log: pino({ level: 'silent' }),
      now: () => new Date(),
    });
    const events = [];
    for await (const ev of engine.answer({
      user: { id: sub, email: 'retry@example.com', emailVerified: true, groups: [] },
      assistant: ASSISTANT,
      conversationId: conv,
      responseId: first.id,
      history: [],
      input: 'Confirm',
      inputCallbackId: cb,
      signal: new AbortController().signal,
    })) events.push(ev);
    const last = events.at(-1);
    assert.equal(last?.type, 'message');
    const id = /^Zapped \((R-\d+)\)/.exec(first.message.content.commonmark_text.text)![1];
    assert.match(last?.type === 'message' ? last.text : '', new RegExp(`^Zapped \\(${id}\\)`), 'the recorded result, same request id');
    assert.equal(calls('/reset'), before, 'no second call');
  });

  it('retrying a callback with its Idempotency-Key returns the same response; hostile callback ids are 400, never 500', async () => {
    const t = await s.token({ email: 'hal@example.com' });
    const conv = await newConv(t);
    const offer = await ask(t, conv, { text: 'zap my frobnicator password' });
    const before = calls('/reset');
    const body = { input: { callback_id: offer.message.actions[0].callback_action.callback_id } };
    const headers = { ...s.headers(t), 'idempotency-key': uniq('key') };
    const first = await s.parley.app.inject({ method: 'POST', url: `${V1}/conversations/${conv}/responses`, headers, payload: body });
    const retry = await s.parley.app.inject({ method: 'POST', url: `${V1}/conversations/${conv}/responses`, headers, payload: body });
    assert.equal(first.statusCode, 202);
    assert.equal(retry.statusCode, 202, retry.body);
    assert.equal(retry.json().response_id, first.json().response_id);
    await waitTerminal(s, t, conv, first.json().response_id);
    assert.equal(calls('/reset'), before + 1);
    const sealed = (payload: unknown) => `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA`;
    for (const callback_id of ['.', 'a.b', 'x'.repeat(5000), '\u0000', '💥.💥', sealed({ a: ['x'], v: conv, u: 1, d: 'c' }), sealed({ a: '__proto__', v: conv, u: 'x', d: 'c' })]) {
      const r = await inject('POST', `${V1}/conversations/${conv}/responses`, t, { input: { callback_id } });
      assert.equal(r.statusCode, 400, callback_id.slice(0, 40));
      assert.equal(r.json().error.code, 'INVALID_INPUT');
    }
  });

  it('offers a plugin only to the principals its allow list names', async () => {
    const outsider = await s.token({ email: 'out@example.com' });
    const conv = await newConv(outsider);
    const refused = await ask(outsider, conv, { text: 'look up grue sightings' });
    assert.doesNotMatch(refused.message.content.commonmark_text.text, /Sightings/, 'the engine answers instead');
    const warden = await s.token({ email: 'warden@example.com', groups: ['grue-wardens'] });
    const c2 = await newConv(warden);
    const allowed = await ask(warden, c2, { text: 'look up grue sightings' });
    assert.match(allowed.message.content.commonmark_text.text, /^Sightings: R-\d+/);
  });

  it('substitutes values only, encoded for where they land: URL-encoded in urls, JSON-encoded in bodies', async () => {
    const t = await s.token({ email: 'dee@example.com' });
    const conv = await newConv(t);
    const question = 'search the quux register for "a/b" & {{q}} ../x';
    await ask(t, conv, { text: question });
    const req = svc.seen.filter((r) => r.url.startsWith('/echo')).at(-1)!;
    const encoded = encodeURIComponent(question);
    assert.equal(req.url, `/echo/${encoded}?q=${encoded}`, 'one path segment, one query value');
    assert.deepEqual(JSON.parse(req.body), { query: question, nested: [question] });
  });

  it('refuses loopback and private addresses unless the plugin allows them, by address and by name', async () => {
    const t = await s.token({ email: 'eve@example.com' });
    const conv = await newConv(t);
    const before = svc.seen.length;
    for (const q of ['ping the internal blorp service', 'ping the blorp service by name']) {
      const out = await ask(t, conv, { text: q });
      assert.match(out.message.content.commonmark_text.text, /did not work: the service is at an address this server may not call\. Trace id: `[0-9a-f-]{36}`/);
    }
    assert.equal(svc.seen.length, before, 'no request reached the service');
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fc00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a9fe:a9fe', '2002:7f00:1::1']) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '8.8.8.8']) assert.equal(isPrivateAddress(a), false, a);
  });

  it('answers a plain error with the trace id on timeout, oversize and HTTP errors; the audit masks secrets', async () => {
    const t = await s.token({ email: 'fay@example.com' });
    const conv = await newConv(t);
    const expected: [string, RegExp][] = [
      ['wake the sleepy snark', /did not answer in time/],
      ['fetch the huge bandersnatch', /sent more than expected/],
      ['poke the broken jabberwock', /answered with an error \(HTTP 500\)/],
    ];
    for (const [q, reason] of expected) {
      const out = await ask(t, conv, { text: q });
      assert.equal(out.response.status, 'COMPLETED');
      assert.match(out.message.content.commonmark_text.text, reason);
      assert.match(out.message.content.commonmark_text.text, /Trace id: `[0-9a-f-]{36}`/);
    }
    // The audit: admin only, every call with user, inputs (secrets masked), status and duration.
    const plain = await s.token();
    assert.equal((await s.parley.app.inject({ method: 'GET', url: '/admin/v1/plugin-calls', headers: { authorization: `Bearer ${plain}` } })).statusCode, 403);
    const admin = await s.token({ groups: ['parley-admins'] });
    const audit = await s.parley.app.inject({ method: 'GET', url: '/admin/v1/plugin-calls?limit=500', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(audit.statusCode, 200);
    const text = audit.body;
    assert.equal(text.includes(SECRET), false, 'no secret in the audit');
    const calls = audit.json().calls as Json[];
    const mine = calls.filter((c) => c.conversation_id === conv);
    assert.deepEqual(mine.map((c) => [c.plugin, c.status]).sort(), [['big-call', 'FAILED'], ['failing-call', 'FAILED'], ['slow-call', 'FAILED']]);
    for (const c of mine) {
      assert.equal(typeof c.duration_ms, 'number');
      assert.ok(c.user.length > 0);
      assert.ok(c.trace_id);
    }
    assert.equal(mine.find((c) => c.plugin === 'failing-call')!.http_status, 500);
    const zap = calls.find((c) => c.plugin === 'zap-password' && c.status === 'SUCCEEDED')!;
    assert.deepEqual(zap.inputs, { email: zap.inputs.email, pin: '***' });
    const page = await s.parley.app.inject({ method: 'GET', url: '/admin/v1/plugin-calls?limit=1', headers: { authorization: `Bearer ${admin}` } });
    const next = page.json().metadata.next_cursor as string;
    const page2 = await s.parley.app.inject({ method: 'GET', url: `/admin/v1/plugin-calls?limit=1&cursor=${encodeURIComponent(next)}`, headers: { authorization: `Bearer ${admin}` } });
    assert.notEqual(page2.json().calls[0].call_id, page.json().calls[0].call_id);
    const bad = await s.parley.app.inject({ method: 'GET', url: '/admin/v1/plugin-calls?cursor=nope', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'INVALID_CURSOR');
  });

  it('needs a verified email for a `from: user.email` input', async () => {
    // An unverified email claim (a token that says email_verified: false) fills nothing.
    const { signUserToken } = await import('../../src/core/tokens.ts');
    const t = await signUserToken({ hsKey: new TextEncoder().encode('test-secret-0123456789-abcdefghijklmnopqrstuvwxyz'), issuer: 'parley', audience: 'parley' }, { sub: uniq('u'), email: 'boss@example.com', emailVerified: false, groups: [] }, 600);
    const conv = await newConv(t);
    const out = await ask(t, conv, { text: 'zap my frobnicator password' });
    assert.match(out.message.content.commonmark_text.text, /verified email/);
    assert.equal(out.message.actions, undefined);
  });

  it('documents GET /admin/v1/plugin-calls in the OpenAPI document', async () => {
    const doc = (await s.parley.app.inject({ method: 'GET', url: '/openapi.json?dialect=v1' })).json();
    assert.ok(doc.paths['/admin/v1/plugin-calls'].get);
    assert.ok(doc.components.schemas.PluginCall);
    const v1Message = JSON.stringify(doc.components.schemas.Response);
    assert.match(v1Message, /CALLBACK_ACTION/);
    const beta = (await s.parley.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.doesNotMatch(JSON.stringify(beta.components.schemas.Response), /CALLBACK_ACTION|actions/);
  });
});

describe('conformance tool: V1 message actions', () => {
  it('asks for an action, validates the actions, presses Confirm through input.callback_id, and sees a reuse refused', async () => {
    const svc = await startService();
    const s = await startTestServer({ env: { TEST_PLUGIN_KEY: SECRET }, config: { plugins: plugins(svc.url) } });
    try {
      await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
      const baseUrl = `http://127.0.0.1:${(s.parley.app.server.address() as AddressInfo).port}${V1}`;
      const lines: string[] = [];
      const report = await runConformance({
        spec: loadSpecFile(FIXTURE),
        baseUrl,
        token: await s.token({ email: 'conf@example.com' }),
        assistant: ASSISTANT,
        actionQuestion: 'zap my frobnicator password',
        timeoutMs: 10000,
        pollMs: 20,
        onResult: (r) => lines.push(formatResult(r)),
      });
      const action = lines.filter((l) => /action question|input\.callback_id|after a callback|used twice/.test(l));
      assert.deepEqual(
        action.map((l) => l.replace(/ \[polled.*/, '')),
        ['ok   create-response 202 [action question]', 'ok   create-response 202 [input.callback_id]', 'ok   list-response-messages 200 [after a callback]', 'ok   create-response 400 [callback_id used twice]'],
        lines.join('\n'),
      );
      assert.equal(report.results.filter((r) => !r.ok && !r.skipped && r.label !== 'coverage').length, 0, lines.join('\n'));
      assert.equal(svc.seen.filter((r) => r.url === '/reset').length, 1);
    } finally {
      await s.close();
      await svc.close();
    }
  });
});

describe('actions with the language-model engine: plugins as tools, the same confirmation rule', () => {
  it('a confirmed action the model calls only offers the buttons; Confirm runs it once; an unconfirmed one runs at once', async () => {
    const svc = await startService();
    const fake = await startFakeOpenAI([
      { type: 'tool_calls', calls: [{ name: 'action_zap-password', arguments: '{}' }] },
      { type: 'text', chunks: ['I will zap your frobnicator password ', 'once you confirm.'] },
      { type: 'tool_calls', calls: [{ name: 'action_quux-search', arguments: '{}' }] },
      { type: 'text', chunks: ['The register answered.'] },
    ]);
    const s = await startTestServer({
      env: { TEST_PLUGIN_KEY: SECRET, PARLEY_ENGINE: 'openai-compatible', LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake-model', LLM_TIMEOUT_MS: '5000' },
      config: { plugins: plugins(svc.url) },
      engine: 'configured',
    });
    try {
      const t = await s.token({ email: 'gil@example.com' });
      const h = s.headers(t);
      const conv = (await s.parley.app.inject({ method: 'POST', url: `${V1}/conversations`, headers: h, payload: {} })).json().conversation_id;
      const askV1 = async (input: Json) => {
        const r = await s.parley.app.inject({ method: 'POST', url: `${V1}/conversations/${conv}/responses`, headers: h, payload: { input } });
        assert.equal(r.statusCode, 202, r.body);
        await waitTerminal(s, t, conv, r.json().response_id);
        const done = (await s.parley.app.inject({ method: 'GET', url: `${V1}/conversations/${conv}/responses/${r.json().response_id}`, headers: h })).json();
        return done.outputs.find((o: Json) => o.type === 'MESSAGE').message as Json;
      };
      const offer = await askV1({ text: 'could you zap it for me' });
      const tools = (fake.requests[0]!.body as { tools?: { function: { name: string } }[] }).tools!.map((x) => x.function.name);
      assert.ok(tools.includes('action_zap-password') && !tools.includes('action_grue-lookup'), 'only the actions the user may use are offered');
      assert.match(offer.content.commonmark_text.text, /once you confirm\.\n\nReply \*\*yes\*\* to confirm/);
      assert.deepEqual(offer.actions.map((a: Json) => a.label), ['Confirm', 'Cancel']);
      assert.equal(svc.seen.length, 0, 'the model cannot make a confirmed call');
      const done = await askV1({ callback_id: offer.actions[0].callback_action.callback_id });
      assert.match(done.content.commonmark_text.text, /^Zapped/);
      assert.equal(svc.seen.length, 1);
      const searched = await askV1({ text: 'what does the register say' });
      assert.equal(searched.content.commonmark_text.text, 'The register answered.');
      assert.equal(svc.seen.length, 2, 'an action without confirmation runs when the model calls it');
      assert.equal(fake.requests.length, 4, 'the confirmation itself never asks the model');
    } finally {
      await s.close();
      await fake.close();
      await svc.close();
    }
  });
});

describe('actions: configuration', () => {
  const base = (extra: Record<string, unknown> = {}) => ({
    name: 'p',
    description: 'Do a thing',
    when: { examples: ['do the thing'] },
    request: { url: 'https://api.example.com/x' },
    ...extra,
  });
  const load = (plugin: Record<string, unknown>, env: Record<string, string> = {}) =>
    loadConfig({ PARLEY_DATA_DIR: '/tmp/x', ...env }, { plugins: [plugin] });

  it('accepts a plugin and resolves ${env:NAME} header secrets from the environment', () => {
    const cfg = load(base({ request: { url: 'https://api.example.com/x', headers: { authorization: 'Bearer ${env:K}' } } }), { K: 'abc123' });
    assert.equal(cfg.plugins[0]!.resolvedHeaders!['authorization'], 'Bearer abc123');
    assert.deepEqual(cfg.plugins[0]!.secretValues, ['abc123']);
    assert.equal(cfg.plugins[0]!.request.headers['authorization'], 'Bearer ${env:K}', 'the configuration keeps the reference');
  });

  it('refuses unknown keys, missing secrets, placeholders in the host, unknown placeholders and bad access lists', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [base({ alow: ['x'] }), /plugins\.0: unknown key "alow"/],
      [base({ request: { url: 'https://api.example.com/x', headers: { a: '${env:NOPE_NOT_SET}' } } }), /environment variable NOPE_NOT_SET is not set/],
      [base({ request: { url: 'https://{{host}}.example.com/x' }, inputs: { host: { from: 'question' } } }), /placeholders may not be in the scheme, host or port/],
      [base({ request: { url: 'https://api.example.com/{{nope}}' } }), /\{\{nope\}\} names no input/],
      [base({ request: { url: 'ftp://api.example.com/x' } }), /http/],
      [base({ request: { url: 'https://u:p@api.example.com/x' } }), /credentials/],
      [base({ allow: ['team:x'] }), /plugins\.0\.allow/],
      [base({ inputs: { x: { type: 'string' } } }), /needs `from` or a `default`/],
      [base({ request: { url: 'https://api.example.com/x', headers: { a: 'x{{y}}' } } }), /no \{\{placeholders\}\}/],
    ];
    for (const [plugin, message] of cases) assert.throws(() => load(plugin), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(plugin));
    assert.throws(() => loadConfig({ PARLEY_DATA_DIR: '/tmp/x' }, { plugins: [base(), base()] }), /duplicate name p/);
  });
});

void onPostgres;

describe('actions: the demo plugins and matching', () => {
  it('loads the demo plugins, and the demo service answers both', async () => {
    const svc = await startDemoPluginService();
    try {
      const [reset, tickets] = demoPlugins(svc.url);
      assert.equal(reset!.confirm, true);
      assert.equal(tickets!.confirm, false);
      const done = await runPlugin(reset!, { email: 'maya.chen@acme.example' });
      assert.match(done.result!.text, /^Done: a temporary VPN password was sent to maya\.chen@acme\.example \(request VPN-00001\)/);
      const list = await runPlugin(tickets!, { email: 'maya.chen@acme.example' });
      assert.match(list.result!.text, /^You have [1-3] open IT tickets?: INC-\d+/);
      assert.ok(list.result!.url!.startsWith(`${svc.url}/tickets/view?requester=maya.chen%40acme.example`));
    } finally {
      await svc.close();
    }
  });

  it('tells a request to do something from a question about it', () => {
    const plugins = demoPlugins('http://127.0.0.1:9');
    const article = [{ documentId: 'd', chunkId: 'c', url: 'https://kb/x', title: 'Resetting your VPN password', heading: 'How to reset your VPN password', text: '', updatedAt: null, score: 1 }];
    const decide = (q: string) => {
      const m = bestPlugin(q, plugins);
      return m && m.score > knowledgeScore(q, article) ? m.plugin.name : 'knowledge';
    };
    assert.equal(decide('How do I reset my VPN password?'), 'knowledge');
    assert.equal(decide('how can I reset my vpn password'), 'knowledge');
    assert.equal(decide('reset my VPN password'), 'reset-vpn-password');
    assert.equal(decide('Could you please reset my VPN password'), 'reset-vpn-password');
    assert.equal(decide('show my IT tickets'), 'my-it-tickets');
    assert.equal(decide('what are my open IT tickets?'), 'my-it-tickets');
    assert.equal(decide('reset my password'), 'knowledge', 'every content word of an example must be asked for');
    assert.equal(decide('What is the VPN?'), 'knowledge');
  });
});
