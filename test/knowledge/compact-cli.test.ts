import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { embeddedDbDir } from '../../src/main.ts';
import { openDatabase } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { onPostgres, uniq } from '../support/db.ts';

const ROOT = join(import.meta.dirname, '../..');

describe('parley compact', () => {
  it('gives an embedded data dir\'s free space back, keeping what stays', { skip: onPostgres() && 'embedded data dir only (PostgreSQL: compact.test.ts)' }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-compact-'));
    try {
      const db = await openDatabase({ dataDir: embeddedDbDir(dataDir) });
      const assistant = uniq('assistant');
      try {
        await migrate(db);
        const documents = Array.from({ length: 190 }, (_, i) => ({
          path: `d${i}.md`, format: 'markdown' as const, title: `Doc ${i}`, url: `https://kb.example.test/cli/${i}`, updatedAt: null, access: ['*'],
          body: Array.from({ length: 900 }, (_, w) => `c${i}z${w}`).join(' ') + '.',
        }));
        await applyIngest(db, { assistant, root: '/cli', prune: false, documents, people: [] });
        // 180 removed: below the automatic compaction's threshold, so the space stays taken.
        const pruned = await applyIngest(db, { assistant, root: '/cli', prune: true, force: true, documents: documents.slice(-10), people: [] });
        assert.equal(pruned.removed, 180);
      } finally {
        await db.close();
      }
      const env = { ...process.env, PARLEY_DATA_DIR: dataDir, PARLEY_DEMO_DATA: 'false', LOG_LEVEL: 'silent', DATABASE_URL: '', TEST_DATABASE_URL: '' };
      const run = spawnSync(process.execPath, ['bin/parley.mjs', 'compact'], { cwd: ROOT, encoding: 'utf8', env });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^kb_chunks: rewritten, /m);
      const [, before, after] = run.stdout.match(/knowledge tables: ([\d.]+) MB → ([\d.]+) MB/) ?? [];
      assert.ok(Number(after) < Number(before) / 3, run.stdout);
      const dir = run.stdout.match(/data dir ([\d.]+) MB → ([\d.]+) MB/);
      assert.ok(dir && Number(dir[2]) < Number(dir[1]), run.stdout);
      const again = await openDatabase({ dataDir: embeddedDbDir(dataDir) });
      try {
        const [row] = await again.query<{ n: string }>('SELECT count(*) AS n FROM kb_chunks WHERE assistant = $1', [assistant]);
        assert.ok(Number(row?.n) >= 10, 'the remaining documents\' passages are there');
        const hits = await again.query<{ id: string }>(`SELECT id FROM kb_chunks WHERE assistant = $1 AND tsv @@ to_tsquery('english', 'c189z5')`, [assistant]);
        assert.equal(hits.length, 1);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
