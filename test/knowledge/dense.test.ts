import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PlainVectorIndex, normalized } from '../../src/knowledge/dense.ts';
import { createKnowledge } from '../../src/knowledge/knowledge.ts';
import type { SourceDocument } from '../../src/knowledge/sources.ts';
import { fakeVector, startFakeEmbeddings, type FakeEmbeddings } from '../support/fake-embeddings.ts';
import { testDb, uniq } from '../support/db.ts';

const doc = (path: string, title: string, body: string, access: string[] = ['*']): SourceDocument => ({
  path, format: 'markdown', title, url: `https://kb.example.test/${path.replace(/\.md$/, '')}`, updatedAt: null, access, body,
});

const DOCS: SourceDocument[] = [
  doc('garage.md', 'Garage rules', 'Automobile spaces are on level two of the garage.'),
  doc('exec-garage.md', 'Executive garage', 'Reserved vehicle bays for executives, next to the lifts.', ['executives']),
  doc('hr-garage.md', 'Parking for HR visitors', 'Automobile bays for visiting candidates.', ['email:hr.lead@example.test']),
  doc('canteen.md', 'Canteen', 'Meals are served from noon.'),
  doc('laptops.md', 'Laptop refresh', 'Every notebook computer is replaced after three years.'),
];

const urlOf = (path: string) => `https://kb.example.test/${path.replace(/\.md$/, '')}`;

// Dense retrieval on a plain column with an exact in-process scan: forced here so the embedded database (which
// has pgvector) runs the same path as Debian's PostgreSQL 15 (which has none, and gets it by default).
describe('dense retrieval without pgvector (plain column, exact scan)', () => {
  let fake: FakeEmbeddings;
  before(async () => {
    fake = await startFakeEmbeddings();
  });
  after(() => fake.close());

  const knowledgeFor = async (extra: { log?: (m: string) => void } = {}) =>
    createKnowledge(await testDb(), { embeddings: { baseUrl: fake.baseUrl, model: 'fake-dense' }, vectorStore: 'plain', ...extra });

  it('stores unit vectors at ingest and finds a synonym the full-text index misses', async () => {
    const db = await testDb();
    const assistant = uniq('dense');
    const k = await knowledgeFor();
    const summary = await k.ingest({ assistant, root: '/r', prune: false, documents: DOCS, people: [] });
    assert.deepEqual(summary.errors, []);
    const rows = await db.query<{ n: number; dims: number }>(
      'SELECT count(*)::int AS n, max(dims)::int AS dims FROM kb_chunk_embeddings WHERE assistant = $1 AND model = $2',
      [assistant, 'fake-dense'],
    );
    assert.equal(rows[0]!.n, DOCS.length);
    assert.equal(rows[0]!.dims, fakeVector('x').length);
    const [gen] = await db.query<{ generation: number | string }>('SELECT generation FROM kb_vector_state WHERE assistant = $1', [assistant]);
    assert.ok(Number(gen!.generation) >= 1);

    // "car" is in no passage: only the dense side can find the garage.
    const hits = await k.search(assistant, ['*'], 'where do I put my car');
    assert.equal(hits[0]?.url, urlOf('garage.md'));
    assert.ok((hits[0]?.similarity ?? 0) > 0.8, `similarity ${hits[0]?.similarity}`);
    // A question none of whose words any passage uses: full text has nothing to go on, the dense side alone answers.
    const byMeaning = await k.search(assistant, ['*'], 'motorcar');
    assert.equal(byMeaning[0]?.url, urlOf('garage.md'));
    assert.deepEqual(await createKnowledge(db).search(assistant, ['*'], 'motorcar'), []);
    // "computer" only in a synonym's passage; the concept dimension brings the laptop article.
    assert.equal((await k.search(assistant, ['*'], 'my computer is old'))[0]?.url, urlOf('laptops.md'));
  });

  it('never returns a restricted passage to someone outside its access list, however close its vector', async () => {
    const db = await testDb();
    const assistant = uniq('dense');
    const k = await knowledgeFor();
    await k.ingest({ assistant, root: '/r', prune: false, documents: DOCS, people: [] });
    const restricted = [urlOf('exec-garage.md'), urlOf('hr-garage.md')];

    // The question is the executive passage's own text: its vector is the closest possible.
    const question = 'Executive garage\nReserved vehicle bays for executives, next to the lifts.';
    for (const principals of [['*'], ['*', 'group:staff'], ['*', 'email:someone@example.test']]) {
      const hits = await k.search(assistant, principals, question, { limit: 10 });
      assert.ok(hits.length > 0);
      for (const h of hits) assert.ok(!restricted.includes(h.url), `${h.url} leaked to ${principals.join(',')}`);
    }
    // The scan itself never ranks a hidden row (access is checked before similarity).
    const index = new PlainVectorIndex(db);
    const chunkIds = await db.query<{ id: string; url: string }>(
      'SELECT c.id, d.url FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id WHERE c.assistant = $1',
      [assistant],
    );
    const hidden = new Set(chunkIds.filter((c) => restricted.includes(c.url)).map((c) => c.id));
    const top = await index.search(assistant, 'fake-dense', ['*'], normalized(fakeVector(question))!, 50);
    assert.equal(top.length, DOCS.length - 2);
    assert.ok(top.every((t) => !hidden.has(t.id)));

    const execs = await k.search(assistant, ['*', 'group:executives'], question);
    assert.equal(execs[0]?.url, urlOf('exec-garage.md'));
    assert.ok(execs.every((h) => h.url !== urlOf('hr-garage.md')));
    const hr = await k.search(assistant, ['*', 'email:hr.lead@example.test'], 'automobile bays for visiting candidates');
    assert.equal(hr[0]?.url, urlOf('hr-garage.md'));
  });

  it('notices changes made through another handle (generation counter), including a passage made restricted', async () => {
    const db = await testDb();
    const assistant = uniq('dense');
    const k = await knowledgeFor();
    await k.ingest({ assistant, root: '/r', prune: false, documents: DOCS, people: [] });
    // "Another node": its own cache on the same database.
    const other = new PlainVectorIndex(db);
    const q = normalized(fakeVector('where do I put my car'))!;
    const before = await other.search(assistant, 'fake-dense', ['*'], q, 3);
    const garageChunk = before[0]!.id;

    // The garage article becomes restricted, and a new public one arrives.
    await k.ingest({
      assistant, root: '/r', prune: false, people: [],
      documents: [doc('garage.md', 'Garage rules', 'Automobile spaces are on level two of the garage.', ['facilities']), doc('bikes.md', 'Bicycle parking', 'Bicycle racks are by the car park entrance.')],
    });
    const afterwards = await other.search(assistant, 'fake-dense', ['*'], q, 10);
    assert.ok(afterwards.every((t) => t.id !== garageChunk), 'the restricted passage left the public results');
    const bikes = await db.query<{ id: string }>('SELECT c.id FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id WHERE d.assistant = $1 AND d.url = $2', [assistant, urlOf('bikes.md')]);
    assert.ok(afterwards.some((t) => t.id === bikes[0]!.id), 'the new passage is found');
    const facilities = await other.search(assistant, 'fake-dense', ['*', 'group:facilities'], q, 10);
    // Same passage id (document id + position), new vector row: found again by those who may see it.
    assert.ok(facilities.some((t) => t.id === garageChunk));

    // One more passage: it goes into the spare room of the block the last step made, found like the others.
    await k.ingest({ assistant, root: '/r', prune: false, people: [], documents: [doc('valet.md', 'Valet parking', 'Valet parking for automobile visitors.')] });
    const valet = await db.query<{ id: string }>('SELECT c.id FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id WHERE d.assistant = $1 AND d.url = $2', [assistant, urlOf('valet.md')]);
    const withValet = await other.search(assistant, 'fake-dense', ['*'], q, 10);
    assert.ok(withValet.some((t) => t.id === valet[0]!.id));
    assert.ok(withValet.every((t) => t.id !== garageChunk));

    // Removal: the vectors go with their passages.
    await k.ingest({ assistant, root: '/r', prune: true, force: true, people: [], documents: [doc('canteen.md', 'Canteen', 'Meals are served from noon.')] });
    const left = await other.search(assistant, 'fake-dense', ['*', 'group:facilities', 'group:executives'], q, 10);
    assert.equal(left.length, 1);
  });

  it('a failing batch leaves its passages searchable by full text, logged and reported; the rest is embedded', async () => {
    const db = await testDb();
    const assistant = uniq('dense');
    const logged: string[] = [];
    const k = createKnowledge(db, { embeddings: { baseUrl: fake.baseUrl, model: 'fake-dense', batchSize: 1 }, vectorStore: 'plain', log: (m) => logged.push(m) });
    fake.failOn = 'Flamingo';
    try {
      const summary = await k.ingest({
        assistant, root: '/r', prune: false, people: [],
        documents: [doc('birds.md', 'Flamingo care', 'Flamingo pens are cleaned daily.'), ...DOCS.slice(0, 2)],
      });
      assert.equal(summary.added, 3);
      assert.equal(summary.errors.length, 1);
      assert.equal(summary.errors[0]!.path, '(embeddings)');
      assert.match(summary.errors[0]!.reason, /^1 passages not embedded/);
      assert.ok(logged.some((m) => m.includes('500')), logged.join('\n'));
    } finally {
      fake.failOn = null;
    }
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM kb_chunk_embeddings WHERE assistant = $1', [assistant]);
    assert.equal(rows[0]!.n, 2);
    assert.ok((await k.search(assistant, ['*'], 'flamingo pens')).some((h) => h.url === urlOf('birds.md')));
    assert.equal((await createKnowledge(db).search(assistant, ['*'], 'flamingo pens'))[0]?.url, urlOf('birds.md'));
    // The next ingest embeds what was left.
    const again = await k.ingest({ assistant, root: '/r', prune: false, people: [], documents: [] });
    assert.deepEqual(again.errors, []);
    const after2 = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM kb_chunk_embeddings WHERE assistant = $1', [assistant]);
    assert.equal(after2[0]!.n, 3);
  });

  it('an endpoint that is down stops embedding after a few failures and the search falls back to full text', async () => {
    const db = await testDb();
    const assistant = uniq('dense');
    const logged: string[] = [];
    const k = createKnowledge(db, { embeddings: { baseUrl: 'http://127.0.0.1:9/v1', model: 'fake-dense', batchSize: 1, timeoutMs: 2000, queryTimeoutMs: 2000 }, vectorStore: 'plain', log: (m) => logged.push(m) });
    const docs = Array.from({ length: 6 }, (_, i) => doc(`n${i}.md`, `Note ${i}`, `Pelican note number ${i}.`));
    const summary = await k.ingest({ assistant, root: '/r', prune: false, people: [], documents: docs });
    assert.equal(summary.added, 6);
    assert.match(summary.errors[0]!.reason, /^6 passages not embedded/);
    assert.ok(logged.some((m) => m.includes('stopped after 3 failed requests')), logged.join('\n'));
    const hits = await k.search(assistant, ['*'], 'pelican note number 4');
    assert.equal(hits[0]?.url, urlOf('n4.md'));
    assert.ok(logged.some((m) => m.startsWith('dense retrieval failed')));
  });

  it('rejects malformed vectors from the endpoint instead of storing them', async () => {
    const { createServer } = await import('node:http');
    const bad = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0, 0, 0] }] }));
      });
    });
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
    try {
      const port = (bad.address() as { port: number }).port;
      const db = await testDb();
      const assistant = uniq('dense');
      const k = createKnowledge(db, { embeddings: { baseUrl: `http://127.0.0.1:${port}/v1`, model: 'zero' }, vectorStore: 'plain' });
      const summary = await k.ingest({ assistant, root: '/r', prune: false, people: [], documents: [DOCS[3]!] });
      assert.match(summary.errors[0]!.reason, /zero vector/);
      const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM kb_chunk_embeddings WHERE assistant = $1', [assistant]);
      assert.equal(rows[0]!.n, 0);
      assert.equal((await k.search(assistant, ['*'], 'meals noon'))[0]?.url, urlOf('canteen.md'));
    } finally {
      bad.closeAllConnections();
      await new Promise<void>((r) => bad.close(() => r()));
    }
  });
});

describe('the exact scan (WebAssembly SIMD and its JavaScript fallback)', () => {
  it('scores masked rows only, the same on both paths, for sizes that are not a multiple of four', async () => {
    const { VectorBlock } = await import('../../src/knowledge/dense-scan.ts');
    for (const dims of [1, 3, 4, 7, 384]) {
      const rows = 37;
      const blocks = [new VectorBlock(rows, dims), new VectorBlock(rows, dims, { wasm: false })];
      let seed = 1;
      const next = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
      const data = Array.from({ length: rows }, () => Array.from({ length: dims }, next));
      const q = Float32Array.from({ length: dims }, next);
      const results = blocks.map((b) => {
        data.forEach((v, i) => b.vectors.set(v, i * b.stride));
        for (let i = 0; i < rows; i++) b.mask[i] = i % 4 === 0 ? 0 : 1;
        return Array.from(b.score(q));
      });
      for (let i = 0; i < rows; i++) {
        const expected = data[i]!.reduce((s, x, d) => s + Math.fround(x) * q[d]!, 0);
        for (const r of results) {
          if (i % 4 === 0) assert.equal(r[i], 0, 'a masked row is not scored');
          else assert.ok(Math.abs(r[i]! - expected) < 1e-4, `dims ${dims} row ${i}: ${r[i]} vs ${expected}`);
        }
      }
    }
  });
});
