import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Engine } from './assistant/engine.ts';
import { DEFAULT_ASSISTANT, type Config } from './config.ts';
import { CHANNEL_EVENTS, CHANNEL_JOBS, MESSAGES_TAG, makeDeps, type CoreDeps } from './core/deps.ts';
import { DELETED_TAG, forgetConversations, forgetEverything } from './core/deletion.ts';
import { TokenVerifier, type TokenSettings } from './core/tokens.ts';
import { buildApp } from './http/app.ts';
import { Metrics } from './http/metrics.ts';
import { SharedLimits } from './http/shared-limits.ts';
import { NotifyHub } from './jobs/hub.ts';
import { Maintenance } from './jobs/maintenance.ts';
import { Worker } from './jobs/worker.ts';
import { openDatabase, type Db } from './store/db.ts';
import { migrate } from './store/migrate.ts';
import { deriveKeys, readOrCreateSecretFile, readOrCreateSecretRow } from './store/secrets.ts';
import { createKnowledge, type ParleyKnowledge } from './knowledge/index.ts';
import type { Knowledge } from './knowledge/types.ts';
import { ingestPayloadSchema, IngestRefused, loadDemoData, type IngestPayload } from './knowledge/index.ts';
import { unknownAssistant } from './knowledge/known-assistant.ts';
import { ApiError } from './protocol/errors.ts';
import { WebhookDelivery } from './webhooks/delivery.ts';
import { demoPlugins, startDemoPluginService, type DemoPluginService } from './actions/demo.ts';
import { withActions } from './actions/engine.ts';

export interface Parley {
  config: Config;
  db: Db;
  app: FastifyInstance;
  deps: CoreDeps;
  worker: Worker;
  /** Retention, event-log compaction and webhook-log pruning (every node, periodic). */
  maintenance: Maintenance;
  /** Whether this process claims and answers responses (always reaps). */
  claiming: boolean;
  knowledge: ParleyKnowledge;
  engine: Engine;
  tokens: TokenSettings;
  logger: Logger;
  /** Stops accepting requests, lets answers in flight finish (or hands them back), closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Run the worker loop in this process (default: config.worker). */
  worker?: boolean;
  /** Override the engine (tests use a scripted one). */
  engine?: Engine;
  logger?: Logger;
  /** Use this database instead of opening one (tests share one). */
  db?: Db;
  /** Skip migrations (when the caller already ran them). */
  migrated?: boolean;
}

/** Where the embedded database of a data dir lives. */
export function embeddedDbDir(dataDir: string): string {
  return join(dataDir, 'db');
}

/** The lock a running server holds on an embedded data dir (PGlite is one process per data dir). */
export function serverLockPath(dataDir: string): string {
  return join(dataDir, 'server.json');
}

/** Reads the running server's lock: its pid and address, if that process is alive. */
export function runningServer(dataDir: string): { pid: number; url: string } | null {
  const path = serverLockPath(dataDir);
  if (!existsSync(path)) return null;
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; url: string };
    process.kill(info.pid, 0);
    return info;
  } catch {
    return null;
  }
}

/** Composition root: builds every part from the configuration. Does not listen. */
export async function createParley(config: Config, opts: StartOptions = {}): Promise<Parley> {
  const logger = opts.logger ?? pino({ level: config.logLevel, base: { service: 'parley' } });
  const embedded = !config.databaseUrl;
  if (embedded && !opts.db) {
    const other = runningServer(config.dataDir);
    if (other && other.pid !== process.pid) {
      throw new Error(`the embedded database in ${config.dataDir} is in use by process ${other.pid} (${other.url}); stop it or use DATABASE_URL`);
    }
  }
  const db =
    opts.db ??
    (await openDatabase({
      url: config.databaseUrl,
      dataDir: embeddedDbDir(config.dataDir),
      vector: Boolean(config.embeddings),
      poolSize: config.databasePoolSize,
      thread: config.embeddedThread,
      migrateOnCreate: !opts.migrated,
      timeouts: {
        connectMs: config.databaseConnectTimeoutMs,
        statementMs: config.databaseStatementTimeoutMs,
        idleInTransactionMs: config.databaseIdleInTransactionTimeoutMs,
      },
      onError: (err) => logger.error({ err }, 'database connection error'),
    }));
  if (!opts.migrated) {
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'migrations applied');
  }

  const master = db.kind === 'embedded' ? readOrCreateSecretFile(config.dataDir) : await readOrCreateSecretRow(db);
  const keys = deriveKeys(master);
  const tokens: TokenSettings = {
    hsKey: config.auth.hsSecret ? new TextEncoder().encode(config.auth.hsSecret) : keys.jwt,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    acceptIssuers: config.auth.acceptIssuers,
    acceptAudiences: config.auth.acceptAudiences,
    publicKeys: config.auth.publicKeys,
    jwksUrl: config.auth.jwksUrl,
    ttlSeconds: config.auth.tokenTtlSeconds,
    emailTrustedIssuers: config.auth.emailTrustedIssuers,
  };
  const verifier = new TokenVerifier(tokens, config.auth.adminGroup);
  // The demo's plugins come with the demo data: their service runs in this process, on 127.0.0.1.
  let demoService: DemoPluginService | undefined;
  if (config.demoData && config.demoPlugins && config.assistants.some((a) => a.name === DEFAULT_ASSISTANT)) {
    demoService = await startDemoPluginService();
    const names = new Set(config.plugins.map((p) => p.name));
    config = { ...config, plugins: [...config.plugins, ...demoPlugins(demoService.url).filter((p) => !names.has(p.name))] };
  }
  const deps: CoreDeps = makeDeps(db, keys, config);

  const directoryUrls = Object.fromEntries(config.assistants.flatMap((a) => (a.directoryUrl ? [[a.name, a.directoryUrl]] : [])));
  const knowledge = createKnowledge(db, {
    directoryUrls,
    ...(config.embeddings ? { embeddings: config.embeddings } : {}),
    log: (msg) => logger.warn(msg),
  });
  if (config.demoData && config.assistants.some((a) => a.name === DEFAULT_ASSISTANT)) {
    const loaded = await loadDemoData(db, DEFAULT_ASSISTANT);
    if (loaded) logger.info({ assistant: DEFAULT_ASSISTANT }, 'demo data loaded');
  }
  const engine = withActions(opts.engine ?? (await loadEngine(config, knowledge)), {
    db,
    keys,
    plugins: config.plugins,
    knowledge,
    log: logger,
    now: () => deps.now(),
  });

  const metrics = new Metrics(db);
  const events = new NotifyHub(db, CHANNEL_EVENTS);
  const jobs = new NotifyHub(db, CHANNEL_JOBS);
  await events.start();
  // A conversation deleted through any node: forget what this node cached for it.
  events.onTag(DELETED_TAG, (conversationId) => forgetConversations(deps, [conversationId]));
  // Deletion notices sent while the listener was down were missed: nothing cached before can be trusted.
  events.onCatchUp(() => forgetEverything(deps));
  // Messages added to a conversation through any node: its cached message pages are stale.
  events.onTag(MESSAGES_TAG, (conversationId) => deps.deletions.changed(conversationId));
  const runWorker = opts.worker ?? config.worker;
  if (runWorker) await jobs.start();
  const worker = new Worker(deps, engine, jobs, logger, { onFinished: (s, sec) => metrics.finished(s, sec) }, events);
  const redis = config.rateLimit.redisUrl
    ? new Redis(config.rateLimit.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 1000 })
    : undefined;
  // Connection errors repeat on every reconnect attempt: the limiter logs the switch to per-node limits once.
  redis?.on('error', (err) => logger.debug({ err: err.message }, 'redis error'));
  const limits = redis ? new SharedLimits(redis, logger) : undefined;
  await limits?.settle();

  const app = await buildApp({
    deps,
    verifier,
    tokens,
    events,
    metrics,
    logger,
    redis,
    limits,
    ingest: async (payload, actor) => {
      const parsed = ingestPayloadSchema.safeParse(payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ApiError('INVALID_INPUT', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid ingest payload'}`);
      }
      // Data for an assistant that is not configured could never be asked about: refuse it.
      const unknown = unknownAssistant(config, parsed.data.assistant);
      if (unknown) throw new ApiError('INVALID_INPUT', unknown);
      try {
        return await knowledge.ingest({ ...(parsed.data as IngestPayload), actor });
      } catch (err) {
        if (err instanceof IngestRefused) throw new ApiError('CONFLICT', err.message);
        throw err;
      }
    },
  });
  worker.start({ claim: runWorker });
  // Every node sends webhooks, worker or not: the outbox is shared and each row is claimed by one node.
  const webhooks = new WebhookDelivery(deps, logger);
  webhooks.start();
  const maintenance = new Maintenance(deps, logger);
  maintenance.start();

  let closing: Promise<void> | null = null;
  return {
    config,
    db,
    app,
    deps,
    worker,
    maintenance,
    claiming: runWorker,
    knowledge,
    engine,
    tokens,
    logger,
    close() {
      closing ??= (async () => {
        await app.close();
        await worker.stop();
        await webhooks.stop();
        await maintenance.stop();
        await events.stop();
        await jobs.stop();
        redis?.disconnect();
        await demoService?.close();
        if (!opts.db) await db.close();
      })();
      return closing;
    },
  };
}

/** Loads only the configured engine: the language-model one pulls in the `ai` SDK, which offline users never need. */
async function loadEngine(config: Config, knowledge: Knowledge): Promise<Engine> {
  if (config.engine.kind === 'openai-compatible') {
    const { createLlmEngine } = await import('./assistant/llm/index.ts');
    return createLlmEngine({
      baseUrl: config.engine.baseUrl!,
      model: config.engine.model!,
      apiKey: config.engine.apiKey,
      knowledge,
      timeoutMs: config.engine.timeoutMs,
      maxToolRounds: config.engine.maxToolRounds,
      maxSearches: config.engine.maxSearches,
    });
  }
  const { createOfflineEngine } = await import('./assistant/offline/index.ts');
  return createOfflineEngine({ knowledge });
}

/** Starts a server process: listens, writes the embedded-data-dir lock, shuts down cleanly on signals. */
export async function serve(config: Config, opts: StartOptions = {}): Promise<Parley> {
  const parley = await createParley(config, opts);
  const address = await parley.app.listen({ host: config.host, port: config.port });
  const lock = serverLockPath(config.dataDir);
  if (!config.databaseUrl) writeFileSync(lock, JSON.stringify({ pid: process.pid, url: address }));
  parley.logger.info({ address, database: parley.db.kind, worker: parley.claiming }, 'parley is serving');
  if (process.stderr.isTTY) {
    // For a person at a terminal (logs stay JSON on stdout): where it is and how to get in.
    process.stderr.write(
      `\nParley is serving ${address} (API /rest/v1beta1, reference ${address}/docs)\n` +
        `Get a token:  npx parley token --user maya.chen@acme.example\n` +
        `Assistant-Name: ${config.assistants[0]!.name}\n\n`,
    );
  }
  const shutdown = async (signal: string) => {
    parley.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 30000);
    force.unref();
    await parley.close();
    if (!config.databaseUrl) rmSync(lock, { force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  stopWithParent(() => void shutdown('parent gone'));
  return parley;
}

/**
 * A process started with an IPC channel (by a test harness, a benchmark or a supervisor that wants this) stops
 * when that channel closes, i.e. when its parent is gone, even killed outright: no orphan keeps serving or
 * answering from a database the parent has moved on from. Without a channel (a normal start) this does nothing.
 */
export function stopWithParent(stop: () => void): void {
  if (!process.channel) return;
  // The channel alone must not keep the process alive.
  process.channel.unref();
  process.once('disconnect', stop);
}
