import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { openDatabase } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';

const MIGRATIONS = fileURLToPath(new URL('../../src/store/migrations/', import.meta.url));

describe('migration 030 (document identity) on data stored before it', () => {
  it('keeps the newest of duplicated urls, and the next prune of the old folder removes the stale copy', async () => {
    // A database of its own (embedded, in memory), migrated only up to before 030, holding the old bug's duplicates.
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      const before = mkdtempSync(join(tmpdir(), 'parley-mig-'));
      for (const f of readdirSync(MIGRATIONS).filter((f) => f < '030')) copyFileSync(join(MIGRATIONS, f), join(before, f));
      await migrate(db, before + '/');
      await db.query(
        `INSERT INTO kb_documents (id, assistant, root, path, format, url, title, access, content_hash, ingested_at)
         VALUES ('old', 'a', '/first', 'budget.md', 'markdown', 'https://kb.example.test/budget', 'Budget', '{*}', 'h1', now() - interval '1 day'),
                ('new', 'a', '/second', 'budget.md', 'markdown', 'https://kb.example.test/budget', 'Budget', '{*}', 'h2', now()),
                ('solo', 'a', '/first', 'other.md', 'markdown', 'https://kb.example.test/other', 'Other', '{*}', 'h3', now())`,
      );
      await migrate(db, MIGRATIONS);
      const rows = await db.query<{ id: string; identity: string }>('SELECT id, identity FROM kb_documents ORDER BY id');
      assert.deepEqual(rows, [
        { id: 'new', identity: 'https://kb.example.test/budget' },
        { id: 'old', identity: 'legacy:old' },
        { id: 'solo', identity: 'https://kb.example.test/other' },
      ]);
      const doc = { path: 'other.md', format: 'markdown' as const, title: 'Other', url: 'https://kb.example.test/other', updatedAt: null, access: ['*'], body: 'Other text.' };
      const pruned = await applyIngest(db, { assistant: 'a', root: '/first', prune: true, documents: [doc], people: [] });
      assert.equal(pruned.removed, 1, 'the stale copy goes');
      assert.deepEqual((await db.query<{ id: string }>('SELECT id FROM kb_documents ORDER BY id')).map((r) => r.id), ['new', 'solo']);
    } finally {
      await db.close();
    }
  });
});
