import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;

function migrationFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
}

/**
 * What `migrate` runs on an empty database, as plain statements for one transaction (a new embedded data dir gets
 * them in the process that creates it, so the server's database thread never runs them: see embedded-init.ts).
 */
export function newDatabaseSchema(dir: string = MIGRATIONS_DIR): string[] {
  const out = [MIGRATIONS_TABLE];
  for (const file of migrationFiles(dir)) {
    out.push(...splitStatements(readFileSync(dir + file, 'utf8')));
    // The name is [0-9a-z_.] only (migrationFiles): safe as a literal.
    out.push(`INSERT INTO schema_migrations (name) VALUES ('${file}')`);
  }
  return out;
}

/** Numbered `NNN_name.sql` files, applied once each, in order, under an advisory lock (safe with many nodes). */
export async function migrate(db: Db, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const files = migrationFiles(dir);
  const applied: string[] = [];
  await db.tx(async (q) => {
    // Any constant key: one migrator at a time across every node sharing the database.
    await q.query('SELECT pg_advisory_xact_lock(724011)');
    await q.query(MIGRATIONS_TABLE);
    const done = new Set((await q.query<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = readFileSync(dir + file, 'utf8');
      for (const stmt of splitStatements(sql)) await q.query(stmt);
      await q.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      applied.push(file);
    }
  });
  return applied;
}

/** Splits on `;` at line ends outside dollar-quoted bodies (our migrations keep to that shape). */
function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let buf = '';
  let inDollar = false;
  for (const line of sql.split('\n')) {
    if (line.trim().startsWith('--') && !inDollar) continue;
    const dollars = line.match(/\$\$/g)?.length ?? 0;
    if (dollars % 2 === 1) inDollar = !inDollar;
    buf += line + '\n';
    if (!inDollar && line.trimEnd().endsWith(';')) {
      if (buf.trim()) out.push(buf.trim());
      buf = '';
    }
  }
  if (buf.trim()) out.push(buf.trim());
  return out;
}
