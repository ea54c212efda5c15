import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDb, uniq } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ingestFixtures } from '../knowledge/support.ts';

// 31,931 code points: inside the API's 32,000 limit. Before the offline engine analysed a bounded view of the
// question, answering it kept the event loop busy ≈ 10 s, and /healthz took 9.9 s.
const FREEZER = 'what is vpn password reset ' + '?'.repeat(31900) + ' vpn';

/** A real server (offline engine, listening on a port) answering a question that once froze a node. */
describe('a 32,000-character question does not freeze the node', () => {
  let s: TestServer;
  let base: string;
  let headers: Record<string, string>;
  const assistant = uniq('assistant');

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-freeze-'));
    const configFile = join(dir, 'parley.config.json');
    writeFileSync(configFile, JSON.stringify({ assistants: [{ name: assistant, allow: ['*'] }] }));
    await ingestFixtures(await testDb(), assistant);
    s = await startTestServer({ engine: 'configured', env: { PARLEY_CONFIG: configFile, PARLEY_ENGINE: 'offline', RESPONSE_CONCURRENCY: '2' } });
    await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(s.parley.app.server.address() as AddressInfo).port}`;
    headers = { authorization: `Bearer ${await s.token()}`, 'assistant-name': assistant, 'content-type': 'application/json' };
  });
  after(() => s.close());

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };

  it('keeps /healthz answering in < 1 s while it answers, and answers from the right article', async () => {
    // Health probes back to back on two connections from before the questions are posted, so one is always in
    // flight: had the event loop been held, the probe in flight then would have waited for it.
    const probes: number[] = [];
    let answering = true;
    const probe = async () => {
      while (answering) {
        const started = performance.now();
        const health = await fetch(`${base}/healthz`);
        assert.equal(health.status, 200);
        await health.arrayBuffer();
        probes.push(performance.now() - started);
      }
    };
    const probing = [probe(), probe()];
    // Three of them, in three conversations, so answering spans many health probes.
    const asked: { conv: string; id: string }[] = [];
    const terminal = new Set<string>();
    try {
      for (let i = 0; i < 3; i++) {
        const conv = (await call('POST', '/rest/v1beta1/conversations', {})).body['conversation_id'] as string;
        const r = await call('POST', `/rest/v1beta1/conversations/${conv}/responses`, { input: { text: FREEZER } });
        assert.equal(r.status, 202);
        asked.push({ conv, id: r.body['response_id'] as string });
      }
      const until = Date.now() + 60_000;
      while (terminal.size < asked.length && Date.now() < until) {
        for (const a of asked) {
          if (terminal.has(a.id)) continue;
          const r = await call('GET', `/rest/v1beta1/conversations/${a.conv}/responses/${a.id}`);
          if (r.body['status'] === 'COMPLETED' || r.body['status'] === 'FAILED') terminal.add(a.id);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      answering = false;
      await Promise.all(probing);
    }
    assert.equal(terminal.size, asked.length, 'every response finished');
    assert.ok(probes.length > 2, 'probed while answering');
    const slowest = Math.max(...probes);
    assert.ok(slowest < 1000, `/healthz took ${slowest.toFixed(0)} ms while answering (it took 9.9 s before)`);

    for (const a of asked) {
      const r = await call('GET', `/rest/v1beta1/conversations/${a.conv}/responses/${a.id}`);
      assert.equal(r.body['status'], 'COMPLETED');
      const message = (r.body['outputs'] as any[]).find((o) => o.type === 'MESSAGE').message;
      assert.ok(message.citations.some((c: { url: string }) => /vpn/i.test(c.url)), JSON.stringify(message.citations));
    }
  });

  it('refuses more than 32,000 code points in both dialects, counting code points (not UTF-16 units)', async () => {
    for (const prefix of ['/rest/v1beta1', '/assistant/v1']) {
      const conv = (await call('POST', `${prefix}/conversations`, {})).body['conversation_id'] as string;
      const tooLong = await call('POST', `${prefix}/conversations/${conv}/responses`, { input: { text: '🙂'.repeat(32001) } });
      assert.equal(tooLong.status, 400, prefix);
      assert.equal(tooLong.body['error']?.code, 'INVALID_INPUT', prefix);
      const tooLongStream = await fetch(`${base}${prefix}/conversations/${conv}/responses/stream`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ input: { text: 'a'.repeat(32001) } }),
      });
      assert.equal(tooLongStream.status, 400, `${prefix} stream`);
      assert.equal(((await tooLongStream.json()) as { error: { code: string } }).error.code, 'INVALID_INPUT');
      // 32,000 emoji are 64,000 UTF-16 units but exactly the limit in code points.
      const atLimit = await call('POST', `${prefix}/conversations/${conv}/responses`, { input: { text: '🙂'.repeat(32000) } });
      assert.equal(atLimit.status, 202, prefix);
    }
  });
});

