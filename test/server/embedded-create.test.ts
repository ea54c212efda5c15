import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../../src/store/db.ts';
import { createEmbeddedDir } from '../../src/store/embedded-init.ts';
import { migrate } from '../../src/store/migrate.ts';
import { EMBEDDED_MAX_WAL } from '../../src/store/wal.ts';
import { onPostgres } from '../support/db.ts';

const MIGRATION_FILES = readdirSync(new URL('../../src/store/migrations/', import.meta.url)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f));

/**
 * A new embedded data dir is created by a child process (src/store/embedded-init.ts): it comes with the WAL bounds
 * and, when asked, the whole schema, so the server's database thread neither reopens it nor runs the migrations.
 */
describe('creating an embedded data dir', { skip: onPostgres() && 'embedded database only' }, () => {
  it('comes with the WAL bounds and the schema: migrate() finds nothing left to apply', async () => {
    const root = mkdtempSync(join(tmpdir(), 'parley-create-'));
    try {
      const db = await openDatabase({ dataDir: join(root, 'db'), migrateOnCreate: true });
      try {
        const [wal] = await db.query<{ v: string }>(`SELECT current_setting('max_wal_size') AS v`);
        assert.equal(wal?.v, EMBEDDED_MAX_WAL);
        const names = await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
        assert.deepEqual(names.map((r) => r.name), [...MIGRATION_FILES].sort());
        assert.deepEqual(await migrate(db), []);
        // Tables of early and late migrations are there.
        const [t] = await db.query<{ docs: boolean; calls: boolean }>(`SELECT to_regclass('kb_documents') IS NOT NULL AS docs, to_regclass('plugin_calls') IS NOT NULL AS calls`);
        assert.deepEqual(t, { docs: true, calls: true });
      } finally {
        await db.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a statement that fails is reported with its SQLSTATE, and no data dir is left behind', async () => {
    const root = mkdtempSync(join(tmpdir(), 'parley-create-'));
    const dir = join(root, 'db');
    try {
      await assert.rejects(createEmbeddedDir(dir, { schema: ['CREATE TABLE a (id int)', 'CREATE TABLE a (id int)'] }), (err: Error & { code?: string }) => {
        assert.equal(err.code, '42P07');
        assert.match(err.message, /already exists/);
        return true;
      });
      assert.equal(existsSync(join(dir, 'PG_VERSION')), false);
      assert.equal(existsSync(`${dir}.creating`), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
