import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { signUserToken } from '../../src/core/tokens.ts';
import { onPostgres, uniq } from '../support/db.ts';
import { ASSISTANT, BASE, TEST_SECRET, parseSse } from '../support/server.ts';

const BIN = fileURLToPath(new URL('../../bin/parley.mjs', import.meta.url));

/** Starts `parley <command>` as its own process on the test PostgreSQL; resolves with its base URL once ready. */
function startNode(command: 'serve' | 'worker', extraArgs: string[] = []): Promise<{ proc: ChildProcess; url: string }> {
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
      },
      stdio: ['ignore', 'pipe', 'pipe'],
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
