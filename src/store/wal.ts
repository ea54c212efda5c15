/**
 * The embedded database's write-ahead log, kept bounded on disk.
 *
 * PGlite runs PostgreSQL as one standalone backend: there is no checkpointer, so a checkpoint happens only when
 * someone asks for one (or at a clean close), and until then every WAL segment written stays in `pg_wal`. A 5 MB
 * ingest wrote ≈ 100 MB of WAL; a 48 MB one took the data dir to 1.4 GB, most of it WAL. And at a checkpoint
 * PostgreSQL keeps (recycles) segments up to `max_wal_size`, 1 GB by default. So on an embedded data dir on disk:
 * `max_wal_size` / `min_wal_size` are lowered once (ALTER SYSTEM, read at start: the database is reopened that one
 * time), and callers that write a lot (ingest, compaction, the maintenance round) ask for a checkpoint once the WAL
 * since the last one passes CHECKPOINT_AFTER_BYTES. A PostgreSQL server checkpoints on its own: nothing is done there.
 */
import type { Db } from './db.ts';

export const EMBEDDED_MAX_WAL = '32MB';
export const EMBEDDED_MIN_WAL = '32MB';
/** WAL written since the last checkpoint after which the embedded database is checkpointed. */
export const CHECKPOINT_AFTER_BYTES = 48 * 1024 * 1024;

/** The statements that set the WAL bounds (run by the process that creates a data dir, so no reopen is needed). */
export function walBoundStatements(): string[] {
  return [`ALTER SYSTEM SET max_wal_size = '${EMBEDDED_MAX_WAL}'`, `ALTER SYSTEM SET min_wal_size = '${EMBEDDED_MIN_WAL}'`];
}

/**
 * Sets the embedded database's WAL bounds in its data dir; true when they changed (effective from the next start,
 * so the caller reopens). Never on PostgreSQL (a server's settings are its operator's).
 */
export async function capEmbeddedWal(db: Db): Promise<boolean> {
  if (db.kind !== 'embedded') return false;
  const [row] = await db.query<{ max: string; min: string }>(`SELECT current_setting('max_wal_size') AS max, current_setting('min_wal_size') AS min`);
  if (row?.max === EMBEDDED_MAX_WAL && row?.min === EMBEDDED_MIN_WAL) return false;
  for (const sql of walBoundStatements()) await db.query(sql);
  return true;
}

/** WAL bytes written since the last checkpoint (embedded database; 0 on PostgreSQL, which checkpoints itself). */
export async function walSinceCheckpoint(db: Db): Promise<number> {
  if (db.kind !== 'embedded') return 0;
  const [row] = await db.query<{ n: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::bigint AS n FROM pg_control_checkpoint()');
  return Number(row?.n ?? 0);
}

/**
 * Embedded database: a checkpoint when at least `after` bytes of WAL were written since the last one, so `pg_wal`
 * goes back to `max_wal_size`. True when it checkpointed. (With fsync off in PGlite, a checkpoint writes at most
 * the dirty part of the 32 MB buffer pool: tens of milliseconds.)
 */
export async function checkpointIfWalGrew(db: Db, after = CHECKPOINT_AFTER_BYTES): Promise<boolean> {
  if (db.kind !== 'embedded') return false;
  if ((await walSinceCheckpoint(db)) < after) return false;
  await db.query('CHECKPOINT');
  return true;
}
