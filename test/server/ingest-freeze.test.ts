import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uniq } from '../support/db.ts';
import { generatedArticle } from '../support/generated-articles.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * A real server taking a large ingest through `POST /admin/v1/ingest` in the CLI's batch shape (≤ 200 entries,
 * ≈ 512 KiB each). Before applying a batch yielded between documents, the embedded database held the event loop
 * for a whole batch at a time and /healthz waited behind it (see docs/benchmarks.md for the measured latencies).
 */
describe('a large ingest does not freeze the node', () => {
  let s: TestServer;
  let base: string;
  let admin: string;
  const assistant = uniq('assistant');

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-ingest-freeze-'));
    const configFile = join(dir, 'parley.config.json');
    writeFileSync(configFile, JSON.stringify({ assistants: [{ name: assistant, allow: ['*'] }] }));
    // The question loop polls every 20 ms; the per-user rate limit is not what this test measures.
    s = await startTestServer({ engine: 'configured', env: { PARLEY_CONFIG: configFile, PARLEY_ENGINE: 'offline', RATE_LIMIT_MAX: '1000000' } });
    await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(s.parley.app.server.address() as AddressInfo).port}`;
    admin = await s.token({ groups: ['parley-admins'], email: 'ops@example.test' });
  });
  after(() => s.close());

  it('keeps /healthz answering (no freeze) while several MB are ingested', async () => {
    const BATCHES = Number(process.env['INGEST_FREEZE_BATCHES'] ?? 8);
    const DOC_BYTES = 2600;
    const root = `/bench/${uniq('src')}`;
    const batches = Array.from({ length: BATCHES }, (_, b) =>
      Array.from({ length: 190 }, (_, i) => {
        const n = b * 190 + i;
        return { path: `a${n}.md`, format: 'markdown', title: `Article ${n}`, url: `https://kb.example.test/a/${n}`, updatedAt: null, access: ['*'], body: generatedArticle(n, DOC_BYTES) };
      }),
    );
    const probes: number[] = [];
    let ingesting = true;
    const probe = async () => {
      while (ingesting) {
        const started = performance.now();
        const health = await fetch(`${base}/healthz`);
        assert.equal(health.status, 200);
        await health.arrayBuffer();
        probes.push(performance.now() - started);
        // Paced: back-to-back probes in this same process kept a core busy serving /healthz (hundreds of thousands
        // of them with the database off the event loop), slowing the ingest it watches; a freeze still shows.
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    // Questions asked one after another while the ingest runs: each from posting to its final state.
    const asks: number[] = [];
    const user = await s.token();
    const headers = { authorization: `Bearer ${user}`, 'assistant-name': assistant, 'content-type': 'application/json' };
    const ask = async () => {
      while (ingesting) {
        const started = performance.now();
        const conv = (await (await fetch(`${base}/rest/v1beta1/conversations`, { method: 'POST', headers, body: '{}' })).json()) as Record<string, string>;
        const convId = conv['conversation_id']!;
        const posted = await fetch(`${base}/rest/v1beta1/conversations/${convId}/responses`, { method: 'POST', headers, body: JSON.stringify({ input: { text: 'what does section 3 of article 12 say' } }) });
        assert.equal(posted.status, 202);
        const id = ((await posted.json()) as Record<string, string>)['response_id']!;
        for (;;) {
          const polled = await fetch(`${base}/rest/v1beta1/conversations/${convId}/responses/${id}`, { headers });
          // Anything but 200 (a 429 from the rate limit) would read as "not finished yet" and look like a slow answer.
          assert.equal(polled.status, 200);
          const r = (await polled.json()) as Record<string, string>;
          if (r['status'] === 'COMPLETED' || r['status'] === 'FAILED') break;
          await new Promise((res) => setTimeout(res, 20));
        }
        asks.push(performance.now() - started);
      }
    };
    const probing = [probe(), probe(), ask()];
    let added = 0;
    let bytes = 0;
    try {
      for (const documents of batches) {
        const body = JSON.stringify({ assistant, root, documents, people: [] });
        bytes += body.length;
        const r = await fetch(`${base}/admin/v1/ingest`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body });
        const json = (await r.json()) as { added?: number };
        assert.equal(r.status, 200, JSON.stringify(json).slice(0, 300));
        added += json.added ?? 0;
      }
    } finally {
      ingesting = false;
      await Promise.all(probing);
    }
    assert.equal(added, BATCHES * 190, 'every document was ingested');
    assert.ok(bytes > 3_000_000, `ingested ${bytes} bytes`);
    assert.ok(probes.length > 4, 'probed while ingesting');
    const slowest = probes.reduce((m, x) => Math.max(m, x), 0);
    const slowestAsk = asks.reduce((m, x) => Math.max(m, x), 0);
    if (process.env['INGEST_FREEZE_REPORT']) console.log(`ingest ${bytes} bytes: ${probes.length} probes, slowest /healthz ${slowest.toFixed(0)} ms; ${asks.length} questions, slowest ${slowestAsk.toFixed(0)} ms`);
    // A freeze guard, not the speed target: before slicing, /healthz waited out whole batches (minutes at 50 MB). The
    // < 1 s target is measured by the bench (docs/benchmarks.md); on a loaded 2-core machine this test saw 1–2.5 s.
    assert.ok(slowest < 5000, `/healthz took ${slowest.toFixed(0)} ms during the ingest`);
    // Generous (the target is < 2 s, measured in docs/benchmarks.md): a question must not wait out the ingest.
    assert.ok(asks.length > 0, 'asked while ingesting');
    // Both databases. The 48 s once seen on PostgreSQL in CI was this loop polling into the per-user rate limit (600
    // requests a minute; a 429 has no status, so the loop kept polling until the window reset), not a wait in the
    // database: a batch's one transaction holds no lock an answer needs (docs/benchmarks.md).
    assert.ok(slowestAsk < 8000, `a question took ${slowestAsk.toFixed(0)} ms during the ingest`);
  });
});
