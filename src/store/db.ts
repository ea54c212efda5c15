import { mkdirSync } from 'node:fs';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';

/** Anything that runs parameterised SQL (`$1`, `$2`, ...): the database or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * The one storage seam: the same SQL runs on embedded PGlite and on a PostgreSQL server.
 * Keep queries to PostgreSQL 15 syntax (PGlite is 18, the server 15).
 */
export interface Db extends Queryable {
  readonly kind: 'embedded' | 'postgres';
  /** True when the pgvector extension could be created. */
  readonly hasVector: boolean;
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to a NOTIFY channel; returns the unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
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
  onError?: ((err: Error) => void) | undefined;
}

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

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.pg.transaction(async (t: Transaction) => {
      const q: Queryable = {
        query: async <R>(sql: string, params: readonly unknown[] = []) => (await t.query<R>(sql, params as unknown[])).rows,
      };
      return fn(q);
    });
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    const off = await this.pg.listen(channel, onPayload);
    return async () => off();
  }

  async close(): Promise<void> {
    if (!this.pg.closed) await this.pg.close();
  }
}

async function openEmbedded(dataDir: string, opts: OpenOptions): Promise<Db> {
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

class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private listener: pg.Client | null = null;
  private listenerReady: Promise<pg.Client> | null = null;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    readonly hasVector: boolean,
    private readonly onError: (err: Error) => void,
  ) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const res = await this.pool.query(sql, params as unknown[]);
    return res.rows as T[];
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const q: Queryable = {
        query: async <R>(sql: string, params: readonly unknown[] = []) =>
          (await client.query(sql, params as unknown[])).rows as R[],
      };
      const out = await fn(q);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** One dedicated LISTEN connection per process, re-established (with its channels) if it drops. */
  private connectListener(): Promise<pg.Client> {
    if (this.listenerReady) return this.listenerReady;
    this.listenerReady = (async () => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('notification', (msg) => {
        const set = this.handlers.get(msg.channel);
        if (set) for (const h of set) h(msg.payload ?? '');
      });
      client.on('error', (err) => {
        this.onError(err);
        this.resetListener(client);
      });
      client.on('end', () => this.resetListener(client));
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
      this.listener = client;
      return client;
    })();
    this.listenerReady.catch(() => {
      this.listenerReady = null;
    });
    return this.listenerReady;
  }

  private resetListener(client: pg.Client): void {
    if (this.listener !== client && this.listener !== null) return;
    this.listener = null;
    this.listenerReady = null;
    if (this.closed || this.handlers.size === 0) return;
    // Reconnect with a small delay; missed notifications are covered by the callers' fallback polls.
    setTimeout(() => {
      if (!this.closed) this.connectListener().catch((err: Error) => this.onError(err));
    }, 500).unref();
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(onPayload);
    const client = await this.connectListener();
    if (first) await client.query(`LISTEN ${quoteIdent(channel)}`);
    return async () => {
      const s = this.handlers.get(channel);
      if (!s) return;
      s.delete(onPayload);
      if (s.size === 0) {
        this.handlers.delete(channel);
        await this.listener?.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => undefined);
      }
    };
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
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
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
  return new PostgresDb(pool, url, hasVector, onError);
}
