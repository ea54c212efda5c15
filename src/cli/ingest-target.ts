import type { Config } from '../config.ts';
import { makeDeps, type CoreDeps } from '../core/deps.ts';
import { embeddedDbDir, runningServer } from '../main.ts';
import { openDatabase, type DbTimeouts } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { deriveKeys, readOrCreateSecretFile, readOrCreateSecretRow } from '../store/secrets.ts';
import { runIngestCommand } from './ingest.ts';
import { mintToken } from './token.ts';
import { userInfo } from 'node:os';
import { historyLine, listIngests } from '../knowledge/ingest-history.ts';
import { unknownAssistant } from '../knowledge/known-assistant.ts';
import { parseColumnMap } from '../knowledge/parse-people.ts';
import { createEmbedder } from '../knowledge/embeddings.ts';

export interface IngestCliOptions {
  assistant: string;
  prune: boolean;
  force?: boolean | undefined;
  dryRun?: boolean | undefined;
  server?: string | undefined;
  /** `--map` entries: `"Column name=field"`. */
  map?: string[] | undefined;
}

/** `alice (cli)`: the operating-system user who ran the command, for the audit. */
function cliActor(): string {
  try {
    return `${userInfo().username} (cli)`;
  } catch {
    return 'cli';
  }
}

/** `parley ingest --history`: the audit, newest first, from the database or a running server. */
export async function ingestHistoryCommand(cfg: Config, opts: { assistant?: string | undefined; server?: string | undefined; limit: number }): Promise<void> {
  const running = cfg.databaseUrl ? null : runningServer(cfg.dataDir);
  const serverUrl = opts.server ?? running?.url;
  let records;
  if (serverUrl) {
    const token = await mintToken(cfg, { user: 'parley-cli', groups: [cfg.auth.adminGroup], ttl: 600 });
    const qs = new URLSearchParams({ limit: String(opts.limit), ...(opts.assistant ? { assistant: opts.assistant } : {}) });
    const res = await fetch(`${serverUrl.replace(/\/+$/, '')}/admin/v1/ingests?${qs}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json().catch(() => null)) as { ingests?: Awaited<ReturnType<typeof listIngests>>; error?: { message?: string } } | null;
    if (!res.ok || !body?.ingests) throw new Error(`server refused (${res.status}): ${body?.error?.message ?? 'no details'}`);
    records = body.ingests;
  } else {
    records = await withDatabase(cfg, (deps) => listIngests(deps.db, { assistant: opts.assistant, limit: opts.limit }));
  }
  if (!records.length) process.stdout.write('no ingests recorded\n');
  for (const r of records) process.stdout.write(historyLine(r) + '\n');
}

/** Opens the configured database for a one-off command (refusing an embedded one a server holds). */
export async function withDatabase<T>(cfg: Config, fn: (deps: CoreDeps) => Promise<T>, open: { timeouts?: Partial<DbTimeouts> } = {}): Promise<T> {
  if (!cfg.databaseUrl) {
    const other = runningServer(cfg.dataDir);
    if (other) throw new Error(`the embedded database is in use by the server at ${other.url} (pid ${other.pid}); stop it first`);
  }
  const db = await openDatabase({ url: cfg.databaseUrl, dataDir: embeddedDbDir(cfg.dataDir), vector: Boolean(cfg.embeddings), poolSize: 2, timeouts: open.timeouts });
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
export async function ingestCommand(cfg: Config, path: string, opts: IngestCliOptions): Promise<number> {
  const unknown = unknownAssistant(cfg, opts.assistant);
  if (unknown) throw new Error(unknown);
  const assistantConfig = cfg.assistants.find((a) => a.name === opts.assistant);
  const running = cfg.databaseUrl ? null : runningServer(cfg.dataDir);
  const serverUrl = opts.server ?? running?.url;
  const common = {
    path,
    assistant: opts.assistant,
    prune: opts.prune,
    force: opts.force,
    dryRun: opts.dryRun,
    actor: cliActor(),
    siteCacheDir: cfg.dataDir,
    siteAccess: assistantConfig?.siteAccess,
    parse: {
      ...(assistantConfig?.documentBaseUrl ? { documentBaseUrl: assistantConfig.documentBaseUrl } : {}),
      ...(opts.map?.length ? { columnMap: parseColumnMap(opts.map) } : {}),
    },
    out: process.stdout,
    isTTY: Boolean(process.stdout.isTTY),
  };
  if (serverUrl) {
    const token = await mintToken(cfg, { user: 'parley-cli', groups: [cfg.auth.adminGroup], ttl: 600 });
    return runIngestCommand({ ...common, target: { kind: 'remote', baseUrl: serverUrl.replace(/\/$/, ''), token } });
  }
  const embedder = cfg.embeddings ? createEmbedder(cfg.embeddings) : undefined;
  return withDatabase(cfg, (deps) => runIngestCommand({ ...common, target: { kind: 'db', db: deps.db, embedder } }));
}
