import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createEmbedder } from '../../src/knowledge/embeddings.ts';
import { createKnowledge } from '../../src/knowledge/knowledge.ts';
import type { SourceDocument } from '../../src/knowledge/sources.ts';
import { testDb, uniq } from '../support/db.ts';

// Deterministic "embeddings": one dimension per concept, so synonyms the full-text index cannot see end up close.
const CONCEPTS = [/\b(car|automobile|vehicle|parking|garage)\b/i, /\b(holiday|vacation|leave|pto|time off)\b/i, /\b(laptop|computer|notebook)\b/i, /\b(lunch|meal|food)\b/i];
function vectorOf(text: string): number[] {
  const v: number[] = CONCEPTS.map((re) => (re.test(text) ? 1 : 0));
  v.push(0.1); // never the zero vector
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

describe('dense retrieval with an OpenAI-compatible embeddings endpoint (pgvector when available)', () => {
  let server: Server;
  let baseUrl = '';
  const requests: { model: string; input: string[]; auth: string | undefined }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
          res.writeHead(404).end();
          return;
        }
        const parsed = JSON.parse(body) as { model: string; input: string[] };
        requests.push({ ...parsed, auth: req.headers.authorization });
        const data = parsed.input.map((t, index) => ({ object: 'embedding', index, embedding: vectorOf(t) })).reverse();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: parsed.model }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('orders vectors by the index field of the response', async () => {
    const e = createEmbedder({ baseUrl, model: 'fake-1', apiKey: 'k-123' });
    const [a, b] = await e.embed(['my laptop', 'team lunch']);
    assert.deepEqual(a, vectorOf('my laptop'));
    assert.deepEqual(b, vectorOf('team lunch'));
    assert.equal(requests.at(-1)?.auth, 'Bearer k-123');
    assert.equal(requests.at(-1)?.model, 'fake-1');
  });

  it('embeds passages at ingest and finds a synonym match the full-text index misses, access-filtered', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const docs: SourceDocument[] = [
      { path: 'garage.md', format: 'markdown', title: 'Garage rules', url: 'https://kb.example.test/garage', updatedAt: null, access: ['*'], body: 'Automobile spaces are on level two of the garage.' },
      { path: 'exec-garage.md', format: 'markdown', title: 'Executive garage', url: 'https://kb.example.test/exec-garage', updatedAt: null, access: ['executives'], body: 'Reserved vehicle bays for executives.' },
      { path: 'food.md', format: 'markdown', title: 'Canteen', url: 'https://kb.example.test/food', updatedAt: null, access: ['*'], body: 'Meals are served from noon.' },
    ];
    const k = createKnowledge(db, { embeddings: { baseUrl, model: 'fake-1' } });
    const summary = await k.ingest({ assistant, root: '/r', prune: false, documents: docs, people: [] });
    assert.deepEqual(summary.errors, []);
    // pgvector where the database has it (the embedded one), else the plain column (Debian's PostgreSQL 15).
    const table = db.hasVector ? 'kb_chunk_vectors' : 'kb_chunk_embeddings';
    const stored = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE assistant = $1`, [assistant]);
    assert.equal(stored[0]!.n, 3);

    // "car" appears in no passage: only the dense side can find the garage.
    const hits = await k.search(assistant, ['*'], 'where do I put my car');
    assert.equal(hits[0]?.url, 'https://kb.example.test/garage');
    assert.ok((hits[0]?.similarity ?? 0) > 0.9);
    assert.ok(hits.every((h) => h.url !== 'https://kb.example.test/exec-garage'), 'vectors are access-filtered too');
    const execs = await k.search(assistant, ['*', 'group:executives'], 'where do I put my car');
    assert.ok(execs.some((h) => h.url === 'https://kb.example.test/exec-garage'));

    // Without embeddings configured the same data still answers through full text.
    const plain = createKnowledge(db);
    assert.equal((await plain.search(assistant, ['*'], 'garage'))[0]?.url, 'https://kb.example.test/garage');
  });

  it('reports an unreachable endpoint as an ingest error and keeps the full-text index', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const k = createKnowledge(db, { embeddings: { baseUrl: 'http://127.0.0.1:9/v1', model: 'fake-1', timeoutMs: 2000 } });
    const out = await k.ingest({
      assistant, root: '/r', prune: false, people: [],
      documents: [{ path: 'a.md', format: 'markdown', title: 'A', url: 'https://kb.example.test/a', updatedAt: null, access: ['*'], body: 'Pelican facts.' }],
    });
    assert.equal(out.added, 1);
    assert.equal(out.errors[0]?.path, '(embeddings)');
    assert.equal((await createKnowledge(db).search(assistant, ['*'], 'pelican'))[0]?.url, 'https://kb.example.test/a');
    // Searching with the endpoint down falls back to full text instead of failing.
    assert.equal((await k.search(assistant, ['*'], 'pelican'))[0]?.url, 'https://kb.example.test/a');
  });
});
