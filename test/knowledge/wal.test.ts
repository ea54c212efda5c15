import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { openDatabase } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { capEmbeddedWal, checkpointIfWalGrew, EMBEDDED_MAX_WAL, walSinceCheckpoint } from '../../src/store/wal.ts';
import { onPostgres, testDb } from '../support/db.ts';

const walBytes = (dir: string) => readdirSync(join(dir, 'pg_wal'), { withFileTypes: true }).filter((e) => e.isFile()).reduce((n, e) => n + statSync(join(dir, 'pg_wal', e.name)).size, 0);

describe('the embedded database keeps its write-ahead log bounded', () => {
  it('a data dir on disk gets the WAL bounds at its first open, and checkpoints drop the WAL back to them', { skip: onPostgres() && 'embedded database only' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-wal-'));
    try {
      let db = await openDatabase({ dataDir: dir });
      try {
        const [row] = await db.query<{ v: string }>(`SELECT current_setting('max_wal_size') AS v`);
        assert.equal(row?.v, EMBEDDED_MAX_WAL, 'in effect from the first open (the database was reopened once)');
        assert.equal(await capEmbeddedWal(db), false, 'nothing left to change');
        await migrate(db);
        // ≈ 6 MB of text: without a checkpoint every segment it writes stays in pg_wal.
        const documents = Array.from({ length: 400 }, (_, i) => ({
          path: `d${i}.md`, format: 'markdown' as const, title: `Doc ${i}`, url: `https://kb.example.test/wal/${i}`, updatedAt: null, access: ['*'],
          body: Array.from({ length: 2000 }, (_, w) => `v${i}y${w}`).join(' ') + '.',
        }));
        await applyIngest(db, { assistant: 'wal', root: '/wal', prune: false, documents, people: [] });
        const written = await walSinceCheckpoint(db);
        const onDisk = walBytes(dir);
        assert.equal(await checkpointIfWalGrew(db, Math.max(1, written + 1)), false, 'below the threshold: no checkpoint');
        assert.equal(await checkpointIfWalGrew(db, 1), true);
        assert.ok((await walSinceCheckpoint(db)) < 1_000_000, 'the checkpoint started a fresh stretch of WAL');
        assert.ok(walBytes(dir) <= 32 * 1024 * 1024 + 16 * 1024 * 1024, `pg_wal back to its bound: ${onDisk} → ${walBytes(dir)} bytes`);
      } finally {
        await db.close();
      }
      // Reopened: the bounds are read from the data dir, nothing is rewritten.
      db = await openDatabase({ dataDir: dir });
      try {
        assert.equal(await capEmbeddedWal(db), false);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves a PostgreSQL server\'s settings alone', { skip: !onPostgres() && 'PostgreSQL only' }, async () => {
    const db = await testDb();
    assert.equal(await capEmbeddedWal(db), false);
    assert.equal(await walSinceCheckpoint(db), 0);
    assert.equal(await checkpointIfWalGrew(db, 1), false);
  });
});
