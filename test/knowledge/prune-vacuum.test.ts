import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { testDb, uniq } from '../support/db.ts';

async function vacuumCount(): Promise<number> {
  const db = await testDb();
  const [row] = await db.query<{ n: string }>(`SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE relname = 'kb_chunks'`);
  return Number(row?.n ?? 0);
}

describe('space after large removals', () => {
  it('vacuums the knowledge tables after a prune that removed many documents', async () => {
    const db = await testDb();
    const assistant = uniq('assistant');
    const root = `/vacuum/${uniq('src')}`;
    const documents = Array.from({ length: 230 }, (_, i) => ({
      path: `d${i}.md`, format: 'markdown' as const, title: `Doc ${i}`, url: `https://kb.example.test/v/${i}`, updatedAt: null, access: ['*'], body: `Body of document ${i} about topic${i}.`,
    }));
    await applyIngest(db, { assistant, root, prune: false, documents, people: [] });
    const before = await vacuumCount();
    const small = await applyIngest(db, { assistant, root, prune: true, documents: documents.slice(0, 220), people: [] });
    assert.equal(small.removed, 10);
    const pruned = await applyIngest(db, { assistant, root, prune: true, force: true, documents: [], keepPaths: [], people: [] });
    assert.equal(pruned.removed, 220);
    // Statistics views are flushed by the vacuuming session shortly after, not necessarily at once.
    let after = await vacuumCount();
    for (let i = 0; i < 50 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = await vacuumCount();
    }
    assert.ok(after > before, `kb_chunks vacuumed (vacuum_count ${before} → ${after})`);
    const [left] = await db.query<{ n: string }>('SELECT count(*) AS n FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id WHERE d.assistant = $1', [assistant]);
    assert.equal(Number(left?.n), 0);
  });
});
