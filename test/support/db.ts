import { randomBytes } from 'node:crypto';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';

let shared: Promise<Db> | null = null;

/**
 * The database every test file shares in one run: real PostgreSQL when TEST_DATABASE_URL (or DATABASE_URL) is
 * set, otherwise one embedded in-memory PGlite (creating one costs seconds, so it is made once).
 * Tests isolate themselves with unique users and assistant names (see `uniq`), never by truncating tables.
 */
export function testDb(): Promise<Db> {
  if (!shared) {
    shared = (async () => {
      const url = process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'];
      // The embedded database runs on its worker thread, as `npm start` runs it; PARLEY_EMBEDDED_THREAD=false runs the
      // suites with PGlite in process (the opt-out).
      const thread = !['false', '0', 'no'].includes(process.env['PARLEY_EMBEDDED_THREAD'] ?? '');
      const db = await openDatabase({ url, dataDir: 'memory://', vector: !url, thread });
      await migrate(db);
      return db;
    })();
  }
  return shared;
}

/** True when the suites run against a PostgreSQL server rather than the embedded database. */
export function onPostgres(): boolean {
  return Boolean(process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL']);
}

/** A unique name for isolating a test's data, e.g. `uniq('user')` → `user-3fa9c1d2`. */
export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Closes the shared database (called once at the end of the run). */
export async function closeTestDb(): Promise<void> {
  if (shared) await (await shared).close();
  shared = null;
}
