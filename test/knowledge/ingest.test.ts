import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import type { SourceDocument } from '../../src/knowledge/sources.ts';
import { testDb, uniq } from '../support/db.ts';

function doc(path: string, body: string, extra: Partial<SourceDocument> = {}): SourceDocument {
  return { path, format: 'markdown', title: path, url: `https://kb.example.test/${path}`, updatedAt: null, access: ['*'], body, ...extra };
}

async function docCount(assistant: string): Promise<number> {
  const db = await testDb();
  const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM kb_documents WHERE assistant = $1', [assistant]);
  return rows[0]!.n;
}

describe('applyIngest', () => {
  it('skips unchanged documents, replaces changed ones and prunes missing ones within the same root', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const a = doc('a.md', 'Alpha original text about pelicans.');
    const b = doc('b.md', 'Bravo text about herons.');
    const first = await applyIngest(db, { assistant, root: '/r1', prune: false, documents: [a, b], people: [] });
    assert.deepEqual({ ...first, errors: first.errors.length }, { added: 2, updated: 0, unchanged: 0, removed: 0, people: 0, peopleRemoved: 0, visibility: { '*': 2 }, errors: 0 });

    const again = await applyIngest(db, { assistant, root: '/r1', prune: false, documents: [a, b], people: [] });
    assert.deepEqual([again.added, again.updated, again.unchanged], [0, 0, 2]);

    const changed = await applyIngest(db, { assistant, root: '/r1', prune: false, documents: [{ ...a, body: 'Alpha new text about flamingos.' }, b], people: [] });
    assert.deepEqual([changed.added, changed.updated, changed.unchanged], [0, 1, 1]);
    const bodies = await db.query<{ body: string }>(
      `SELECT c.body FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id WHERE d.assistant = $1 AND d.path = 'a.md'`,
      [assistant],
    );
    assert.deepEqual(bodies.map((r) => r.body), ['Alpha new text about flamingos.'], 'old chunks are replaced, not kept');

    // Another root of the same assistant is untouched by a prune of /r1.
    await applyIngest(db, { assistant, root: '/r2', prune: false, documents: [doc('c.md', 'Charlie.')], people: [] });
    const pruned = await applyIngest(db, { assistant, root: '/r1', prune: true, documents: [b], people: [] });
    assert.equal(pruned.removed, 1);
    assert.equal(pruned.unchanged, 1);
    assert.equal(await docCount(assistant), 2);
    const left = await db.query<{ path: string }>('SELECT path FROM kb_documents WHERE assistant = $1 ORDER BY path', [assistant]);
    assert.deepEqual(left.map((r) => r.path), ['b.md', 'c.md']);
  });

  it('treats an access-list change as a change and stores access lower-cased', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const d = doc('x.md', 'Some text.');
    await applyIngest(db, { assistant, root: '/r', prune: false, documents: [d], people: [] });
    const out = await applyIngest(db, { assistant, root: '/r', prune: false, documents: [{ ...d, access: ['Finance', 'email:Bob@Example.test'] }], people: [] });
    assert.equal(out.updated, 1);
    const rows = await db.query<{ access: string[] }>('SELECT access FROM kb_chunks WHERE assistant = $1', [assistant]);
    assert.deepEqual(rows[0]!.access, ['email:bob@example.test', 'group:finance']);
  });

  it('keeps documents sent by earlier batches when the last batch prunes', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const docs = ['1.md', '2.md', '3.md'].map((p) => doc(p, `Text of ${p}.`));
    await applyIngest(db, { assistant, root: '/r', prune: false, documents: docs, people: [] });
    await applyIngest(db, { assistant, root: '/r', prune: false, documents: [docs[0]!], people: [], keepPaths: ['1.md', '2.md'] });
    const last = await applyIngest(db, { assistant, root: '/r', prune: true, documents: [docs[1]!], people: [], keepPaths: ['1.md', '2.md'] });
    assert.equal(last.removed, 1);
    assert.equal(await docCount(assistant), 2);
  });

  it('reports invalid entries and still applies the valid ones', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const out = await applyIngest(db, {
      assistant,
      root: '/r',
      prune: false,
      documents: [doc('ok.md', 'Fine.'), { ...doc('bad.md', 'x'), url: 'ftp://nope' }, { path: 'junk.md' } as unknown as SourceDocument, doc('ok.md', 'dup')],
      people: [
        { id: 'u1', name: 'Una', email: 'UNA@example.test', title: '', department: '', location: '', phone: '', managerId: null, groups: [], url: null },
        { id: 'u2' } as never,
      ],
      errors: [{ path: 'parse.md', reason: 'from the parser' }],
    });
    assert.equal(out.added, 1);
    assert.equal(out.people, 1);
    const paths = out.errors.map((e) => e.path).sort();
    assert.deepEqual(paths, ['bad.md', 'junk.md', 'ok.md', 'parse.md', 'person u2']);
    const people = await db.query<{ email: string }>('SELECT email FROM kb_people WHERE assistant = $1', [assistant]);
    assert.deepEqual(people.map((p) => p.email), ['una@example.test']);
  });

  it('replaces the directory on a pruning ingest', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const person = (id: string) => ({ id, name: `Person ${id}`, email: `${id}@example.test`, title: '', department: '', location: '', phone: '', managerId: null, groups: [], url: null });
    await applyIngest(db, { assistant, root: '/r', prune: false, documents: [], people: [person('a'), person('b')] });
    await applyIngest(db, { assistant, root: '/r', prune: true, documents: [], people: [person('b')] });
    const rows = await db.query<{ id: string }>('SELECT id FROM kb_people WHERE assistant = $1', [assistant]);
    assert.deepEqual(rows.map((r) => r.id), ['b']);
  });

  it('keeps term statistics equal to a full recount through adds, changes, access changes and prunes', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const recount = async () => {
      const stored = await db.query<{ access: string[]; lexeme: string; df: number }>(
        'SELECT access, lexeme, df FROM kb_terms WHERE assistant = $1 ORDER BY lexeme, access::text',
        [assistant],
      );
      const fresh = await db.query<{ access: string[]; lexeme: string; df: number }>(
        `SELECT c.access, l.lexeme, count(*)::int AS df FROM kb_chunks c, unnest(tsvector_to_array(c.tsv)) AS l(lexeme)
          WHERE c.assistant = $1 GROUP BY c.access, l.lexeme ORDER BY l.lexeme, c.access::text`,
        [assistant],
      );
      assert.deepEqual(stored, fresh);
      const sets = await db.query<{ n: number }>('SELECT coalesce(sum(chunks), 0)::int AS n FROM kb_term_sets WHERE assistant = $1', [assistant]);
      const chunks = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM kb_chunks WHERE assistant = $1', [assistant]);
      assert.equal(sets[0]!.n, chunks[0]!.n);
      return stored.length;
    };
    const a = doc('a.md', 'Osprey nests near the river.');
    const b = doc('b.md', 'Heron nests near the lake.', { access: ['birders'] });
    await applyIngest(db, { assistant, root: '/r', prune: false, documents: [a, b], people: [] });
    assert.ok((await recount()) > 0);
    await applyIngest(db, { assistant, root: '/r', prune: false, documents: [{ ...a, body: 'Kestrel hovers.' }, { ...b, access: ['*'] }], people: [] });
    await recount();
    await applyIngest(db, { assistant, root: '/r', prune: true, documents: [b], people: [] });
    await recount();
    await applyIngest(db, { assistant, root: '/r', prune: true, force: true, documents: [], people: [] });
    assert.equal(await recount(), 0);
  });

  it('stays consistent when two ingests of the same assistant run at once', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const docs = Array.from({ length: 6 }, (_, i) => doc(`${i}.md`, `Document number ${i} about sandpipers.`));
    const [x, y] = await Promise.all([
      applyIngest(db, { assistant, root: '/r', prune: false, documents: docs, people: [] }),
      applyIngest(db, { assistant, root: '/r', prune: false, documents: docs, people: [] }),
    ]);
    assert.equal(x.added + y.added, 6);
    assert.equal(x.unchanged + y.unchanged, 6);
    const chunks = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM kb_chunks WHERE assistant = $1', [assistant]);
    assert.equal(chunks[0]!.n, 6);
  });
});
