import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { signUserToken } from '../../src/core/tokens.ts';
import { onPostgres, uniq } from '../support/db.ts';
import { ASSISTANT, BASE, TEST_SECRET, parseSse } from '../support/server.ts';

const BIN = fileURLToPath(new URL('../../bin/parley.mjs', import.meta.url));

/** Starts `parley <command>` as its own process on the test PostgreSQL; resolves with its base URL once ready. */
function startNode(command: 'serve' | 'worker', extraArgs: string[] = [], extraEnv: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, command, ...extraArgs], {
      env: {
        ...process.env,
        DATABASE_URL: process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'],
        PORT: '0',
        HOST: '127.0.0.1',
        PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-node-')),
        PARLEY_JWT_SECRET: TEST_SECRET,
        LOG_LEVEL: 'info',
        ...extraEnv,
      },
      // An IPC channel: the node stops if this test process dies without stopping it (see stopWithParent).
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`node did not start: ${out}${err}`)), 60000);
    proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"address":"(http:\/\/[^"]+)"/.exec(out);
      if (m || (command === 'worker' && out.includes('"msg":"worker running"'))) {
        clearTimeout(timer);
        resolve({ proc, url: m?.[1] ?? '' });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

describe('three processes on one PostgreSQL: two HTTP-only nodes and a worker', { skip: !onPostgres() && 'needs PostgreSQL (TEST_DATABASE_URL)' }, () => {
  let a: { proc: ChildProcess; url: string };
  let b: { proc: ChildProcess; url: string };
  let w: { proc: ChildProcess; url: string };
  before(async () => {
    // A and B serve HTTP only; W is a `parley worker` process with no HTTP at all.
    [a, b, w] = await Promise.all([startNode('serve', ['--no-worker']), startNode('serve', ['--no-worker']), startNode('worker')]);
  });
  after(() => {
    for (const n of [a, b, w]) n?.proc.kill('SIGTERM');
  });

  it('a response created on one node is streamed from the other and answered by the worker process', async () => {
    const token = await signUserToken(
      { hsKey: new TextEncoder().encode(TEST_SECRET), issuer: 'parley', audience: 'parley' },
      { sub: uniq('cluster'), email: 'maya.chen@acme.example' },
      600,
    );
    const headers = { authorization: `Bearer ${token}`, 'assistant-name': ASSISTANT, 'content-type': 'application/json' };
    const conv = (await (await fetch(`${a.url}${BASE}/conversations`, { method: 'POST', headers, body: '{}' })).json()) as { conversation_id: string };
    const created = await fetch(`${a.url}${BASE}/conversations/${conv.conversation_id}/responses`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ input: { text: 'How do I reset my VPN password?' } }),
    });
    assert.equal(created.status, 202);
    const resp = (await created.json()) as { response_id: string };
    // stream it from the other node
    const stream = await fetch(`${b.url}${BASE}/conversations/${conv.conversation_id}/responses/${resp.response_id}/stream`, { headers });
    assert.equal(stream.status, 200);
    const { events } = parseSse(await stream.text());
    assert.equal(events[0]!.event, 'RESPONSE_CREATED');
    assert.equal(events.at(-1)!.event, 'RESPONSE_COMPLETED');
    assert.deepEqual(events.map((e) => Number(e.id)), events.map((_, i) => i + 1));
    // and node A serves the finished answer too
    const polled = (await (await fetch(`${a.url}${BASE}/conversations/${conv.conversation_id}/responses/${resp.response_id}`, { headers })).json()) as { status: string };
    assert.equal(polled.status, 'COMPLETED');
    assert.deepEqual(polled, JSON.parse(events.at(-1)!.data!).response);
  });

  it('a stream opened on an HTTP-only node goes live as the worker process answers', async () => {
    const token = await signUserToken({ hsKey: new TextEncoder().encode(TEST_SECRET), issuer: 'parley', audience: 'parley' }, { sub: uniq('cluster') }, 600);
    const headers = { authorization: `Bearer ${token}`, 'assistant-name': ASSISTANT, 'content-type': 'application/json', accept: 'text/event-stream' };
    const conv = (await (await fetch(`${b.url}${BASE}/conversations`, { method: 'POST', headers, body: '{}' })).json()) as { conversation_id: string };
    const res = await fetch(`${a.url}${BASE}/conversations/${conv.conversation_id}/responses/stream`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ input: { text: 'Who is the Chief Financial Officer?' } }),
    });
    assert.equal(res.status, 200);
    const { events } = parseSse(await res.text());
    assert.equal(events.at(-1)!.event, 'RESPONSE_COMPLETED');
    assert.ok(events.some((e) => e.event === 'RESPONSE_IN_PROGRESS'));
  });
});

describe('cancel across processes on one PostgreSQL: asked on node A, answered by node B', { skip: !onPostgres() && 'needs PostgreSQL (TEST_DATABASE_URL)' }, () => {
  let a: { proc: ChildProcess; url: string };
  let b: { proc: ChildProcess; url: string };
  let provider: Server;
  // The model requests node B makes, and whether each has been closed (aborted) by B.
  const calls: { closed: boolean }[] = [];
  before(async () => {
    // A language-model provider that sends its headers and then nothing: only an abort ends the request.
    provider = createServer((req, res) => {
      const call = { closed: false };
      calls.push(call);
      req.resume();
      res.on('close', () => (call.closed = true));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
    });
    await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
    const llm = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1`;
    [a, b] = await Promise.all([
      startNode('serve', ['--no-worker']),
      startNode('serve', [], { PARLEY_ENGINE: 'openai-compatible', LLM_BASE_URL: llm, LLM_MODEL: 'stalling', RESPONSE_TIMEOUT_SECONDS: '120', LLM_TIMEOUT_MS: '120000' }),
    ]);
  });
  after(async () => {
    for (const n of [a, b]) n?.proc.kill('SIGTERM');
    provider?.closeAllConnections();
    await new Promise<void>((r) => (provider ? provider.close(() => r()) : r()));
  });

  it('fails the response at once and aborts the model request on the other node', async () => {
    const token = await signUserToken({ hsKey: new TextEncoder().encode(TEST_SECRET), issuer: 'parley', audience: 'parley' }, { sub: uniq('cancel') }, 600);
    const headers = { authorization: `Bearer ${token}`, 'assistant-name': ASSISTANT, 'content-type': 'application/json' };
    const conv = (await (await fetch(`${a.url}${BASE}/conversations`, { method: 'POST', headers, body: '{}' })).json()) as { conversation_id: string };
    const resp = (await (
      await fetch(`${a.url}${BASE}/conversations/${conv.conversation_id}/responses`, { method: 'POST', headers, body: JSON.stringify({ input: { text: 'Where is the handbook?' } }) })
    ).json()) as { response_id: string };
    // Wait until node B's worker is inside the model request.
    for (let i = 0; calls.length === 0; i++) {
      if (i > 1500) throw new Error('node B never called the model');
      await new Promise((r) => setTimeout(r, 20));
    }
    const stream = fetch(`${b.url}${BASE}/conversations/${conv.conversation_id}/responses/${resp.response_id}/stream`, { headers, signal: AbortSignal.timeout(15000) }).then((r) => r.text());
    const res = await fetch(`${a.url}${BASE}/conversations/${conv.conversation_id}/responses/${resp.response_id}/cancel`, { method: 'POST', headers: { authorization: headers.authorization, 'assistant-name': ASSISTANT } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; error: { code: string } };
    assert.equal(body.status, 'FAILED');
    assert.equal(body.error.code, 'CANCELLED');
    // The model request on node B is aborted (a generous bound: the provider would otherwise hold it for 120 s).
    const until = Date.now() + 5000;
    while (!calls[0]!.closed && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.ok(calls[0]!.closed, 'node B aborted its model request');
    const { events } = parseSse(await stream);
    assert.equal(events.at(-1)!.event, 'RESPONSE_FAILED');
    assert.equal((JSON.parse(events.at(-1)!.data!) as { response: { error: { code: string } } }).response.error.code, 'CANCELLED');
  });
});

describe('registered webhook endpoints and deletion across processes on one PostgreSQL', { skip: !onPostgres() && 'needs PostgreSQL (TEST_DATABASE_URL)' }, () => {
  let a: { proc: ChildProcess; url: string };
  let b: { proc: ChildProcess; url: string };
  let receiver: Server;
  let hookUrl = '';
  const received: { headers: Record<string, string>; body: string }[] = [];
  let endpointId = '';
  const sign = (sub: string, groups: string[] = []) =>
    signUserToken({ hsKey: new TextEncoder().encode(TEST_SECRET), issuer: 'parley', audience: 'parley' }, { sub, groups }, 600);
  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = 200;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    const env = { PARLEY_WEBHOOK_POLL_MS: '50' };
    [a, b] = await Promise.all([startNode('serve', ['--no-worker'], env), startNode('serve', [], env)]);
  });
  after(async () => {
    if (endpointId) {
      const admin = await sign(uniq('admin'), ['parley-admins']);
      await fetch(`${a.url}/admin/v1/webhooks/${endpointId}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } }).catch(() => undefined);
    }
    for (const n of [a, b]) n?.proc.kill('SIGTERM');
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  });

  it('an endpoint registered on node A receives, signed and once, what node B answers', async () => {
    const admin = await sign(uniq('admin'), ['parley-admins']);
    const created = await fetch(`${a.url}/admin/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: hookUrl, events: ['response.completed'] }),
    });
    assert.equal(created.status, 201);
    const { id, secret } = (await created.json()) as { id: string; secret: string };
    endpointId = id;
    const headers = { authorization: `Bearer ${await sign(uniq('hooked'))}`, 'assistant-name': ASSISTANT, 'content-type': 'application/json' };
    const conv = (await (await fetch(`${b.url}${BASE}/conversations`, { method: 'POST', headers, body: '{}' })).json()) as { conversation_id: string };
    const stream = await fetch(`${b.url}${BASE}/conversations/${conv.conversation_id}/responses/stream`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ input: { text: 'How do I reset my VPN password?' } }),
    });
    const { events } = parseSse(await stream.text());
    const responseId = (JSON.parse(events.at(-1)!.data!) as { response: { response_id: string } }).response.response_id;
    const wh = new Webhook(secret);
    const mine = () => received.filter((r) => r.body.includes(responseId));
    for (let i = 0; mine().length === 0; i++) {
      if (i > 500) throw new Error('no delivery');
      await new Promise((r) => setTimeout(r, 20));
    }
    const body = wh.verify(mine()[0]!.body, mine()[0]!.headers) as { type: string; data: { response: { status: string } } };
    assert.equal(body.type, 'response.completed');
    assert.equal(body.data.response.status, 'COMPLETED');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(mine().length, 1, 'delivered once by the two nodes');
  });

  it('a conversation deleted through node A is gone on node B at once, whatever B had cached', async () => {
    const headers = { authorization: `Bearer ${await sign(uniq('forget'))}`, 'assistant-name': ASSISTANT, 'content-type': 'application/json' };
    const conv = ((await (await fetch(`${b.url}${BASE}/conversations`, { method: 'POST', headers, body: '{}' })).json()) as { conversation_id: string }).conversation_id;
    const stream = await fetch(`${b.url}${BASE}/conversations/${conv}/responses/stream`, { method: 'POST', headers, body: JSON.stringify({ input: { text: 'What is the per diem in London?' } }) });
    const { events } = parseSse(await stream.text());
    const resp = (JSON.parse(events.at(-1)!.data!) as { response: { response_id: string } }).response.response_id;
    const urls = [`/conversations/${conv}/responses/${resp}`, `/conversations/${conv}/responses/${resp}/messages`, `/conversations/${conv}/messages`];
    // Twice each on B: the second read is served from B's memory.
    for (let i = 0; i < 2; i++) for (const u of urls) assert.equal((await fetch(`${b.url}${BASE}${u}`, { headers })).status, 200, u);
    const del = await fetch(`${a.url}${BASE}/conversations/${conv}`, { method: 'DELETE', headers });
    assert.equal(del.status, 204);
    for (const u of urls) {
      const r = await fetch(`${b.url}${BASE}${u}`, { headers });
      assert.equal(r.status, 404, u);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    }
  });
});
