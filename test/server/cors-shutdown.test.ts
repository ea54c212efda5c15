import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { failResponse } from '../../src/jobs/worker.ts';
import { testDb } from '../support/db.ts';
import { BASE, startTestServer } from '../support/server.ts';

describe('CORS and shutdown', () => {
  it('answers preflights and exposes trace and rate-limit headers to allowed origins only', async () => {
    const s = await startTestServer({ env: { PARLEY_CORS_ORIGINS: 'https://portal.acme.example' } });
    try {
      const pre = await s.parley.app.inject({
        method: 'OPTIONS',
        url: `${BASE}/conversations`,
        headers: { origin: 'https://portal.acme.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,assistant-name,content-type' },
      });
      assert.equal(pre.statusCode, 204);
      assert.equal(pre.headers['access-control-allow-origin'], 'https://portal.acme.example');
      assert.match(String(pre.headers['access-control-allow-headers']), /assistant-name/);
      const t = await s.token();
      const get = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: { ...s.headers(t), origin: 'https://portal.acme.example' } });
      assert.equal(get.headers['access-control-allow-origin'], 'https://portal.acme.example');
      assert.match(String(get.headers['access-control-expose-headers']), /x-moveworks-root-uuid/);
      const evil = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: { ...s.headers(t), origin: 'https://evil.example' } });
      assert.equal(evil.headers['access-control-allow-origin'], undefined);
    } finally {
      await s.close();
    }
  });

  it('ends open streams on shutdown without cancelling their responses', async () => {
    // No worker here: the response stays CREATED, as if another node were slow to pick it up.
    const s = await startTestServer({ worker: false });
    await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (s.parley.app.server.address() as AddressInfo).port;
    const t = await s.token();
    const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id;
    let received = '';
    const ended = new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: `${BASE}/conversations/${conv}/responses/stream`, headers: { ...s.headers(t), 'content-type': 'application/json' } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => (received += c));
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ input: { text: 'are you there' } }));
    });
    while (!received.includes('RESPONSE_CREATED')) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    await s.close();
    await ended;
    assert.ok(Date.now() - started < 5000, 'shutdown did not wait for the answer');
    const responseId = JSON.parse(received.split('data: ')[1]!.split('\n')[0]!).response.response_id as string;
    const [row] = await (await testDb()).query<{ status: string }>(`SELECT status FROM responses WHERE id = $1`, [responseId]);
    assert.equal(row!.status, 'CREATED', 'the response was not cancelled');
    // Leave no claimable work behind for the servers of later tests (they share this database).
    assert.equal(await failResponse(s.parley.deps, responseId, { code: 'TEST_CLEANUP', message: 'closed by the test' }), true);
  });
});
