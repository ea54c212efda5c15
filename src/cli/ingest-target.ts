import type { Config } from '../config.ts';
import { makeDeps, type CoreDeps } from '../core/deps.ts';
import { embeddedDbDir, runningServer } from '../main.ts';
import { openDatabase } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { deriveKeys, readOrCreateSecretFile, readOrCreateSecretRow } from '../store/secrets.ts';
import { runIngestCommand } from './ingest.ts';
import { mintToken } from './token.ts';

/** Opens the configured database for a one-off command (refusing an embedded one a server holds). */
export async function withDatabase<T>(cfg: Config, fn: (deps: CoreDeps) => Promise<T>): Promise<T> {
  if (!cfg.databaseUrl) {
    const other = runningServer(cfg.dataDir);
    if (other) throw new Error(`the embedded database is in use by the server at ${other.url} (pid ${other.pid}); stop it first`);
  }
  const db = await openDatabase({ url: cfg.databaseUrl, dataDir: embeddedDbDir(cfg.dataDir), vector: Boolean(cfg.embeddings), poolSize: 2 });
  try {
    await migrate(db);
    const master = db.kind === 'embedded' ? readOrCreateSecretFile(cfg.dataDir) : await readOrCreateSecretRow(db);
    return await fn(makeDeps(db, deriveKeys(master), cfg));
  } finally {
    await db.close();
  }
}

/**
 * `parley ingest`: straight into the database, or — when a server holds the embedded database, or --server
 * is given — through the running server's admin endpoint with an admin token minted from the local key.
 */
export async function ingestCommand(cfg: Config, path: string, opts: { assistant: string; prune: boolean; server?: string | undefined }): Promise<number> {
  const running = cfg.databaseUrl ? null : runningServer(cfg.dataDir);
  const serverUrl = opts.server ?? running?.url;
  const common = { path, assistant: opts.assistant, prune: opts.prune, out: process.stdout, isTTY: Boolean(process.stdout.isTTY) };
  if (serverUrl) {
    const token = await mintToken(cfg, { user: 'parley-cli', groups: [cfg.auth.adminGroup], ttl: 600 });
    return runIngestCommand({ ...common, target: { kind: 'remote', baseUrl: serverUrl.replace(/\/$/, ''), token } });
  }
  return withDatabase(cfg, (deps) => runIngestCommand({ ...common, target: { kind: 'db', db: deps.db } }));
}
