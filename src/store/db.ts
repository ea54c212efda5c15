import { mkdirSync } from 'node:fs';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import { EmbeddedWorkerDb } from './embedded.ts';
import { DatabaseUnavailableError, failedBeforeSending, isUnavailable } from './unavailable.ts';
import { newDatabaseSchema } from './migrate.ts';
import { capEmbeddedWal, walBoundStatements } from './wal.ts';

export { DatabaseUnavailableError, isDatabaseUnavailable } from './unavailable.ts';

/**
 * A hot statement's name: on PostgreSQL it is prepared once per connection and then only bound and executed (its
 * parse and plan, ≈ 0.5 ms of server CPU for the create-response statement, are not repeated). Only for constant
 * SQL whose plan does not depend on the values (primary-key and keyset lookups, inserts). The embedded database
 * ignores it.
 */
export interface QueryOptions {
  name?: string;
}

/** Anything that runs parameterised SQL (`$1`, `$2`, ...): the database or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<T[]>;
}

/**
 * The one storage seam: the same SQL runs on embedded PGlite and on a PostgreSQL server.
 * Keep queries to PostgreSQL 15 syntax (PGlite is 18, the server 15).
 */
export interface Db extends Queryable {
  readonly kind: 'embedded' | 'postgres';
  /** True when the pgvector extension could be created. */
  readonly hasVector: boolean;
  /**
   * Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. With `retry`, a transaction
   * whose connection was lost before COMMIT was sent is run again (so `fn` must only touch the database and its
   * own local state); a loss during COMMIT is never retried, as the outcome is unknown.
   */
  tx<T>(fn: (q: Queryable) => Promise<T>, opts?: { retry?: boolean }): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel; returns the unsubscribe function. `onReconnect` is called after the listening
   * connection was lost and re-established: notifications may have been missed, so subscribers read to catch up.
   */
  listen(channel: string, onPayload: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>;
  /**
   * Whether a notification sent now would reach this process's listeners: something listens and its connection (or
   * the embedded database's thread) is up. While it is not, what rests on hearing notifications (per-node caches
   * evicted by deletion notices) checks the database instead.
   */
  notificationsLive(): boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** `postgres://...`; when absent the embedded database in `dataDir` is used. */
  url?: string | undefined;
  /** Directory of the embedded database; `memory://` for a throwaway in-memory one. */
  dataDir?: string | undefined;
  /** Load pgvector (embedded) / create it when available (server). */
  vector?: boolean | undefined;
  /** Pool size for the server. */
  poolSize?: number | undefined;
  /** Connect, statement and idle-in-transaction timeouts for the server (defaults: DEFAULT_DB_TIMEOUTS). */
  timeouts?: Partial<DbTimeouts> | undefined;
  onError?: ((err: Error) => void) | undefined;
  /** Embedded only: run PGlite on a worker thread (default; `false` runs it in process; config `embeddedThread`). */
  thread?: boolean | undefined;
  /**
   * Embedded, on the worker thread: a data dir created by this open gets the schema migrations in the process that
   * creates it (`migrate` then finds nothing to do), so the serving thread never runs them (≈ 45 MB less of its
   * WASM heap touched for good).
   */
  migrateOnCreate?: boolean | undefined;
}

/** Timeouts that turn a frozen or unreachable server into errors (503 to clients) instead of hung requests. */
export interface DbTimeouts {
  /** Opening a connection. */
  connectMs: number;
  /** One statement, enforced by the server (`statement_timeout`) and, 5 s later, by the client (a frozen server). */
  statementMs: number;
  /** A transaction left idle (`idle_in_transaction_session_timeout`): a stalled node cannot hold locks forever. */
  idleInTransactionMs: number;
}

export const DEFAULT_DB_TIMEOUTS: DbTimeouts = { connectMs: 5000, statementMs: 30_000, idleInTransactionMs: 60_000 };

/** Opens the configured database (embedded unless a URL is given). */
export async function openDatabase(opts: OpenOptions): Promise<Db> {
  if (opts.url) return openPostgres(opts.url, opts);
  return openEmbedded(opts.dataDir ?? 'memory://', opts);
}

// ---------------------------------------------------------------- embedded

class EmbeddedDb implements Db {
  readonly kind = 'embedded' as const;
  // PGlite runs every query on one thread; a transaction holds it, so queries issued by other
  // async tasks while a transaction is open simply wait their turn inside PGlite.
  constructor(
    private readonly pg: PGlite,
    readonly hasVector: boolean,
  ) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const res = await this.pg.query<T>(sql, params as unknown[]);
    return res.rows;
  }

  tx<T>(fn: (q: Queryable) => Promise<T>, _opts?: { retry?: boolean }): Promise<T> {
    return this.pg.transaction(async (t: Transaction) => {
      const q: Queryable = {
        query: async <R>(sql: string, params: readonly unknown[] = []) => (await t.query<R>(sql, params as unknown[])).rows,
      };
      return fn(q);
    });
  }

  async listen(channel: string, onPayload: (payload: string) => void, _onReconnect?: () => void): Promise<() => Promise<void>> {
    // In-process: the listener cannot be disconnected, so there is never anything to catch up on.
    const off = await this.pg.listen(channel, onPayload);
    this.listening++;
    return async () => {
      this.listening--;
      await off();
    };
  }

  private listening = 0;

  notificationsLive(): boolean {
    return this.listening > 0 && !this.pg.closed;
  }

  async close(): Promise<void> {
    if (!this.pg.closed) await this.pg.close();
  }
}

/**
 * The embedded database. By default PGlite runs on a worker thread (see embedded.ts), so the event loop never waits
 * for a statement; with `thread: false` (config `embeddedThread: false`, `PARLEY_EMBEDDED_THREAD=false`) it runs in
 * this process, on the event loop's thread, as it did before (docs/decisions/embedded-worker-thread.md).
 */
async function openEmbedded(dataDir: string, opts: OpenOptions): Promise<Db> {
  const db = await openEmbeddedOnce(dataDir, opts);
  // A data dir on disk keeps its WAL bounded (store/wal.ts); the bounds are read at start. A data dir created by
  // this open (worker thread) has them from its creation; one that lacks them gets them and is opened again.
  if (dataDir.startsWith('memory://') || !(await capEmbeddedWal(db))) return db;
  await db.close();
  return openEmbeddedOnce(dataDir, opts);
}

async function openEmbeddedOnce(dataDir: string, opts: OpenOptions): Promise<Db> {
  if (opts.thread !== false) {
    const db = new EmbeddedWorkerDb({
      dataDir,
      vector: Boolean(opts.vector),
      statementMs: opts.timeouts?.statementMs ?? DEFAULT_DB_TIMEOUTS.statementMs,
      onCreate: { system: walBoundStatements(), schema: opts.migrateOnCreate ? newDatabaseSchema() : [] },
      onError: opts.onError ?? (() => undefined),
    });
    await db.open();
    return db;
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const extensions: Record<string, unknown> = {};
  if (opts.vector) {
    const { vector } = await import('@electric-sql/pglite-pgvector');
    extensions['vector'] = vector;
  }
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const db = new PGlite(dataDir, { extensions: extensions as Record<string, never> });
  await db.waitReady;
  let hasVector = false;
  if (opts.vector) {
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
    hasVector = true;
  }
  return new EmbeddedDb(db, hasVector);
}

// ---------------------------------------------------------------- postgres

// Timestamps come back as Date on both drivers; int8 stays a string in pg unless parsed.
pg.types.setTypeParser(20, (v: string) => Number(v));

// Pauses before retrying a statement whose connection was lost (pg_terminate_backend, failover, restart).
const RETRY_DELAYS_MS = [100, 500];
// A statement that only reads (or only notifies) is safe to send again when its connection died under it.
const READ_ONLY = /^\s*SELECT\b/i;
const LISTENER_RETRY_MAX_MS = 5000;

/** A lost connection, not a statement that ran too long (which would only time out again). */
function retryable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return isUnavailable(err) && e.code !== '57014' && !(typeof e.message === 'string' && e.message.includes('Query read timeout'));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private listener: pg.Client | null = null;
  private listenerReady: Promise<pg.Client> | null = null;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private listenerRetryMs = 250;
  private listenerLost = false;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
    readonly hasVector: boolean,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Reads are retried when their connection was lost; anything else that cannot reach the database is 503. */
  async query<T>(sql: string, params: readonly unknown[] = [], opts?: QueryOptions): Promise<T[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = opts?.name
          ? await this.pool.query({ name: opts.name, text: sql, values: params as unknown[] })
          : await this.pool.query(sql, params as unknown[]);
        return res.rows as T[];
      } catch (err) {
        if (!isUnavailable(err)) throw err;
        const safe = failedBeforeSending(err) || READ_ONLY.test(sql);
        const delay = RETRY_DELAYS_MS[attempt];
        if (!safe || !retryable(err) || delay === undefined || this.closed) throw new DatabaseUnavailableError(err);
        await sleep(delay);
      }
    }
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>, opts: { retry?: boolean } = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let committing = false;
      try {
        return await this.txOnce(fn, () => (committing = true));
      } catch (err) {
        if (!isUnavailable(err)) throw err;
        const delay = RETRY_DELAYS_MS[attempt];
        const safe = failedBeforeSending(err) || (opts.retry === true && !committing);
        if (!safe || !retryable(err) || delay === undefined || this.closed) throw new DatabaseUnavailableError(err);
        await sleep(delay);
      }
    }
  }

  private async txOnce<T>(fn: (q: Queryable) => Promise<T>, onCommit: () => void): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client has no listener of the pool's: without this one, a connection terminated mid-transaction
    // (pg_terminate_backend, a failover) would be an unhandled 'error' event, and the process would exit.
    let lost: Error | null = null;
    const onLost = (err: Error) => {
      lost = err;
      this.onError(err);
    };
    client.on('error', onLost);
    let failed: unknown = null;
    try {
      await client.query('BEGIN');
      const q: Queryable = {
        query: async <R>(sql: string, params: readonly unknown[] = [], o?: QueryOptions) =>
          (o?.name ? await client.query({ name: o.name, text: sql, values: params as unknown[] }) : await client.query(sql, params as unknown[])).rows as R[],
      };
      const out = await fn(q);
      onCommit();
      await client.query('COMMIT');
      return out;
    } catch (err) {
      failed = err;
      if (!lost && !isUnavailable(err)) await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.removeListener('error', onLost);
      // A client whose connection failed is destroyed, never handed to the next caller.
      const broken = lost ?? (isUnavailable(failed) ? (failed as Error) : undefined);
      client.release(broken);
    }
  }

  /** One dedicated LISTEN connection per process, re-established (with its channels) if it drops. */
  private connectListener(): Promise<pg.Client> {
    if (this.listenerReady) return this.listenerReady;
    this.listenerReady = (async () => {
      const client = new pg.Client(this.clientConfig);
      client.on('notification', (msg) => {
        const set = this.handlers.get(msg.channel);
        if (set) for (const h of set) h(msg.payload ?? '');
      });
      client.on('error', (err) => {
        this.onError(err);
        this.resetListener(client);
      });
      client.on('end', () => this.resetListener(client));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
      } catch (err) {
        client.end().catch(() => undefined);
        throw err;
      }
      this.listener = client;
      this.listenerRetryMs = 250;
      if (this.listenerLost) {
        this.listenerLost = false;
        // Notifications sent while nobody listened are lost: subscribers read what they may have missed.
        for (const h of [...this.reconnectHandlers]) h();
      }
      return client;
    })();
    this.listenerReady.catch(() => {
      this.listenerReady = null;
    });
    return this.listenerReady;
  }

  private resetListener(client: pg.Client): void {
    if (this.listener !== client && this.listener !== null) return;
    if (this.listener === null && this.listenerReady === null) return;
    this.listener = null;
    this.listenerReady = null;
    this.listenerLost = true;
    this.scheduleListener();
  }

  /** Reconnects the listener with a growing pause (capped) until it is back, or the database is closed. */
  private scheduleListener(): void {
    if (this.closed || this.handlers.size === 0) return;
    const delay = this.listenerRetryMs;
    this.listenerRetryMs = Math.min(LISTENER_RETRY_MAX_MS, this.listenerRetryMs * 2);
    setTimeout(() => {
      if (this.closed || this.listenerReady) return;
      this.connectListener().catch((err: Error) => {
        this.onError(err);
        this.scheduleListener();
      });
    }, delay).unref();
  }

  async listen(channel: string, onPayload: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(onPayload);
    if (onReconnect) this.reconnectHandlers.add(onReconnect);
    const client = await this.connectListener();
    if (first) await client.query(`LISTEN ${quoteIdent(channel)}`);
    return async () => {
      if (onReconnect) this.reconnectHandlers.delete(onReconnect);
      const s = this.handlers.get(channel);
      if (!s) return;
      s.delete(onPayload);
      if (s.size === 0) {
        this.handlers.delete(channel);
        await this.listener?.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => undefined);
      }
    };
  }

  notificationsLive(): boolean {
    return this.listener !== null && !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const l = this.listener;
    this.listener = null;
    if (l) await l.end().catch(() => undefined);
    await this.pool.end();
  }
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid channel name: ${name}`);
  return `"${name}"`;
}

async function openPostgres(url: string, opts: OpenOptions): Promise<Db> {
  const onError = opts.onError ?? (() => undefined);
  const t = { ...DEFAULT_DB_TIMEOUTS, ...opts.timeouts };
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: t.connectMs,
    statement_timeout: t.statementMs,
    idle_in_transaction_session_timeout: t.idleInTransactionMs,
    // The server enforces statement_timeout; a frozen server enforces nothing, so the client gives up a little later.
    query_timeout: t.statementMs + 5000,
    keepAlive: true,
  };
  const pool = new pg.Pool({ ...clientConfig, max: opts.poolSize ?? 10 });
  // Idle clients whose connection drops report here (the pool then discards them).
  pool.on('error', onError);
  await pool.query('SELECT 1');
  let hasVector = false;
  if (opts.vector) {
    const avail = await pool.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
    if (avail.rowCount) {
      await pool.query('CREATE EXTENSION IF NOT EXISTS vector');
      hasVector = true;
    }
  }
  return new PostgresDb(pool, clientConfig, hasVector, onError);
}
