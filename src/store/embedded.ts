import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createEmbeddedDir, type CreateStatements } from './embedded-init.ts';
import type { Db, Queryable } from './db.ts';
import { asRequest, priority, type Priority } from './priority.ts';
import { DatabaseUnavailableError } from './unavailable.ts';

/**
 * The embedded database (PGlite) on a worker thread, behind the same `Db` seam as PostgreSQL.
 *
 * PGlite has one connection and runs each statement to its end; in the server's own thread that held the event
 * loop for every query. Here the thread only posts messages, and a scheduler decides what the connection runs next:
 *
 * - a transaction holds the connection from BEGIN to COMMIT/ROLLBACK (only its statements are sent meanwhile);
 * - otherwise request statements go first, then background ones (`inBackground`: answering), then bulk ones
 *   (`inBulk`: ingestion); a background statement that has waited `BACKGROUND_AGING_MS` (bulk: `BULK_AGING_MS`)
 *   goes first if it is the oldest (no starvation);
 * - at most `PIPELINE` statements are in the thread at once (the next is ready when one finishes), and a background
 *   one is only sent to an idle thread, so a request waits behind at most one background statement.
 *
 * A statement that runs longer than the statement timeout (+5 s) means a stuck thread: it is terminated, every
 * statement in it fails with DatabaseUnavailableError (503 to clients) and the thread is started again on the same
 * data dir, its LISTEN channels re-registered and subscribers told to catch up. The same happens if the thread dies.
 */

const PIPELINE = 2;
const BACKGROUND_AGING_MS = 200;
/** Bulk work (ingestion) waits for background work (answers) up to this long. */
const BULK_AGING_MS = 2000;
/**
 * A bulk transaction is not begun within this long after another statement finished: the code that issued that one
 * is usually about to issue its next (an answer is ≈ 35 statements in a row), and a slice of an ingest, once begun,
 * holds the connection until it commits.
 */
const BULK_GAP_MS = 15;
/**
 * Under steady request or answering traffic the connection is never idle for BULK_GAP_MS, and an ingest slice would
 * only go once aged (BULK_AGING_MS per slice: a 4 MB ingest took minutes instead of seconds). So bulk work also gets
 * its turn once the connection has served other work for BULK_YIELD times as long as the last bulk unit held it:
 * about two thirds of a busy connection's time goes to an ingest, and a request waits at most one slice for it.
 * (Measured with test/server/ingest-freeze.test.ts at load ≈ 10 on 2 cores: 0.5 → ingest 26 s, 65 questions,
 * slowest 1.0 s; 1 → 33 s, 115 questions, slowest 1.3 s; in process, without the thread: 10 s, 14 questions.)
 */
const BULK_YIELD = 0.5;
/** How much longer than the statement timeout a statement may run before the thread is taken for stuck. */
const HANG_GRACE_MS = 5000;
const RESTART_DELAYS_MS = [100, 500, 2000, 5000];

interface Msg {
  op: 'query' | 'listen' | 'unlisten' | 'close' | 'memory';
  sql?: string;
  params?: readonly unknown[];
  channel?: string;
}

interface Op {
  msg: Msg;
  /** Transaction id (0 = none). */
  tx: number;
  role: 'plain' | 'begin' | 'end';
  priority: Priority;
  at: number;
  resolve: (rows: unknown[]) => void;
  reject: (err: unknown) => void;
}

interface Reply {
  t: 'ready' | 'failed' | 'result' | 'error' | 'notify' | 'created';
  id?: number;
  rows?: unknown[];
  error?: Record<string, unknown>;
  hasVector?: boolean;
  channel?: string;
  payload?: string;
}

const WORKER_URL = new URL('./pglite-worker.mjs', import.meta.url);

/** An error shaped like PGlite's own (same message, SQLSTATE `code`, detail, constraint...). */
function rebuild(fields: Record<string, unknown> | undefined): Error {
  const err = new Error(typeof fields?.['message'] === 'string' ? fields['message'] : 'embedded database error');
  if (fields) for (const [k, v] of Object.entries(fields)) if (k !== 'message') (err as unknown as Record<string, unknown>)[k] = v;
  return err;
}

export interface EmbeddedOptions {
  dataDir: string;
  vector: boolean;
  /** A statement running longer than this (+5 s) is taken for a stuck thread. */
  statementMs: number;
  /** A background statement that has waited this long counts as a request's (default 200 ms). */
  backgroundAgingMs?: number | undefined;
  /** Added to statementMs before a statement is taken for a stuck thread (default 5 s). */
  hangGraceMs?: number | undefined;
  /** PostgreSQL's shared_buffers inside PGlite (default 32MB; part of the WASM heap, which never shrinks). */
  sharedBuffers?: string | undefined;
  /** Statements run in a new data dir before it is first opened (WAL settings, the schema). */
  onCreate?: CreateStatements | undefined;
  onError: (err: Error) => void;
}

export class EmbeddedWorkerDb implements Db {
  readonly kind = 'embedded' as const;
  hasVector = false;
  private worker: Worker | null = null;
  private readonly requests: Op[] = [];
  private readonly background: Op[] = [];
  private readonly bulk: Op[] = [];
  private readonly held: Op[] = [];
  private readonly inflight = new Map<number, { op: Op; timer: NodeJS.Timeout }>();
  private holder = 0;
  private lastOtherDone = 0;
  /** When the last bulk unit (a transaction or a lone statement) began and ended, and how long it held the connection. */
  private bulkStartedAt = 0;
  private bulkEndedAt = 0;
  private bulkHeldMs = 0;
  private bulkTimer: NodeJS.Timeout | null = null;
  private txSeq = 0;
  private msgSeq = 0;
  private closed = false;
  private restarting: Promise<void> | null = null;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly reconnectHandlers = new Set<() => void>();
  /** Counters for the bench and diagnostics. */
  readonly stats = { statements: 0, restarts: 0 };

  constructor(private readonly opts: EmbeddedOptions) {
    if (process.env['PARLEY_DB_TRACE']) {
      // Diagnostics: every 5 s, anything that has waited longer than that.
      setInterval(() => {
        const now = performance.now();
        const old = (ops: Op[]) => ops.filter((o) => now - o.at > 5000).map((o) => `${o.role}:${o.tx}:${(o.msg.sql ?? o.msg.op).slice(0, 60)}`);
        const flying = [...this.inflight.values()].filter((e) => now - e.op.at > 5000).map((e) => (e.op.msg.sql ?? e.op.msg.op).slice(0, 60));
        const waiting = { requests: old(this.requests), background: old(this.background), bulk: old(this.bulk), held: old(this.held), flying };
        if (Object.values(waiting).some((a) => a.length)) {
          process.stderr.write(`embedded db: holder ${this.holder}, worker ${this.worker ? 'up' : 'down'}, waiting > 5 s: ${JSON.stringify(waiting)}\n`);
        }
      }, 5000).unref();
    }
  }

  /** Starts the thread and opens the database (running initdb first when the data dir is new). */
  async open(): Promise<void> {
    const fresh = !this.opts.dataDir.startsWith('memory://') && !existsSync(join(this.opts.dataDir, 'PG_VERSION'));
    // Creating a database runs initdb, which peaks at several hundred MB: it runs in a process of its own (in memory,
    // the cheapest way; see embedded-init.ts), which writes the files into the data dir and exits, giving it all
    // back; the serving thread then opens the data dir as on any later start.
    if (fresh) await createEmbeddedDir(this.opts.dataDir, this.opts.onCreate);
    this.attach(await this.spawn());
  }

  /** A thread with the database open in it (ready), or the reason it could not open it. */
  private spawn(): Promise<Worker> {
    return new Promise((resolve, reject) => {
      // Outside any background context: what the thread's messages trigger (notifications) counts as request work.
      const w = asRequest(() => new Worker(WORKER_URL, { workerData: { dataDir: this.opts.dataDir, vector: this.opts.vector, sharedBuffers: this.opts.sharedBuffers } }));
      const onExit = (code: number) => reject(new DatabaseUnavailableError(new Error(`the embedded database thread exited (${code}) while opening`)));
      const onError = (err: Error) => reject(err);
      w.once('exit', onExit);
      w.once('error', onError);
      w.once('message', (m: Reply) => {
        w.off('exit', onExit);
        w.off('error', onError);
        if (m.t === 'ready') {
          this.hasVector = m.hasVector === true;
          resolve(w);
        } else {
          void w.terminate();
          reject(rebuild(m.error));
        }
      });
    });
  }

  private attach(w: Worker): void {
    this.worker = w;
    w.on('message', (m: Reply) => this.onMessage(m));
    w.on('error', (err) => this.opts.onError(err));
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      this.worker = null;
      if (this.closed) return;
      this.lost(new Error(`the embedded database thread exited (${code})`));
    });
    this.refresh();
  }

  private onMessage(m: Reply): void {
    if (m.t === 'notify') {
      const set = this.handlers.get(m.channel ?? '');
      if (set) for (const h of [...set]) h(m.payload ?? '');
      return;
    }
    const entry = this.inflight.get(m.id ?? -1);
    if (!entry) return;
    this.inflight.delete(m.id!);
    clearTimeout(entry.timer);
    const now = performance.now();
    if (entry.op.priority !== 'bulk') this.lastOtherDone = now;
    else if (entry.op.tx === 0 || entry.op.role === 'end') {
      this.bulkEndedAt = now;
      this.bulkHeldMs = now - this.bulkStartedAt;
    }
    if (m.t === 'result') entry.op.resolve(m.rows ?? []);
    else entry.op.reject(rebuild(m.error));
    this.pump();
  }

  /** The thread died or hung: fail what it held, then start it again (file data dirs; memory:// is gone with it). */
  private lost(cause: Error): void {
    this.opts.onError(cause);
    const err = new DatabaseUnavailableError(cause);
    for (const { op, timer } of this.inflight.values()) {
      clearTimeout(timer);
      op.reject(err);
    }
    this.inflight.clear();
    for (const op of this.held.splice(0)) op.reject(err);
    this.holder = 0;
    if (this.opts.dataDir.startsWith('memory://')) {
      // Its data lived in that thread: nothing to reopen.
      this.closed = true;
      for (const op of [...this.requests.splice(0), ...this.background.splice(0), ...this.bulk.splice(0)]) op.reject(err);
      return;
    }
    this.restart();
  }

  private restart(): void {
    if (this.restarting || this.closed) return;
    this.restarting = (async () => {
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          const w = await this.spawn();
          if (this.closed) {
            await w.terminate();
            return;
          }
          this.stats.restarts++;
          this.attach(w);
          for (const channel of this.handlers.keys()) w.postMessage({ id: -1, op: 'listen', channel });
          // Notifications sent while the thread was down are lost: subscribers read what they may have missed.
          for (const h of [...this.reconnectHandlers]) h();
          this.pump();
          return;
        } catch (err) {
          this.opts.onError(err as Error);
          // Statements waiting for the thread fail rather than hang; later ones wait for the next attempt.
          const failure = new DatabaseUnavailableError(err);
          for (const op of [...this.requests.splice(0), ...this.background.splice(0), ...this.bulk.splice(0)]) op.reject(failure);
          await new Promise((r) => setTimeout(r, RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]));
        }
      }
    })().finally(() => {
      this.restarting = null;
    });
  }

  private enqueue(msg: Msg, tx: number, role: Op['role']): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new DatabaseUnavailableError(new Error('the embedded database is closed')));
        return;
      }
      const op: Op = { msg, tx, role, priority: priority(), at: performance.now(), resolve, reject };
      if (tx !== 0 && role !== 'begin') {
        if (this.holder !== tx) {
          reject(new Error('statement on a transaction that has ended'));
          return;
        }
        this.held.push(op);
      } else if (op.priority === 'background') this.background.push(op);
      else if (op.priority === 'bulk') this.bulk.push(op);
      else this.requests.push(op);
      this.pump();
    });
  }

  /** Sends the next statements the thread should run. */
  private pump(): void {
    const w = this.worker;
    while (w && this.inflight.size < PIPELINE) {
      let op: Op | undefined;
      if (this.holder !== 0) {
        op = this.held.shift();
      } else {
        const now = performance.now();
        const bg = this.background[0];
        const bulk = this.bulk[0];
        const bgDue = bg !== undefined && now - bg.at > (this.opts.backgroundAgingMs ?? BACKGROUND_AGING_MS);
        const bulkDue = bulk !== undefined && now - bulk.at > (this.opts.backgroundAgingMs ?? BULK_AGING_MS);
        // Its share of a busy connection: it has waited at least as long as its last unit held the connection.
        const bulkTurn = bulk !== undefined && now - Math.max(this.bulkEndedAt, bulk.at) >= Math.max(BULK_GAP_MS, this.bulkHeldMs * BULK_YIELD);
        if (bulkTurn) op = this.bulk.shift();
        else if (bulkDue && (this.requests.length === 0 || bulk.at < this.requests[0]!.at) && (!bg || bulk.at < bg.at)) op = this.bulk.shift();
        else if (bgDue && (this.requests.length === 0 || bg.at < this.requests[0]!.at)) op = this.background.shift();
        else if (this.requests.length) op = this.requests.shift();
        else if (bg && this.inflight.size === 0) op = this.background.shift();
        else if (bulk && this.inflight.size === 0) {
          const wait = this.lastOtherDone + BULK_GAP_MS - now;
          if (bulk.role === 'begin' && wait > 0 && !bulkDue) {
            this.bulkTimer ??= setTimeout(() => {
              this.bulkTimer = null;
              this.pump();
            }, Math.ceil(wait));
            break;
          }
          op = this.bulk.shift();
        }
      }
      if (!op) break;
      if (op.msg.op === 'close' && this.inflight.size > 0) {
        // Closing waits for the statements in the thread to finish.
        this.requests.unshift(op);
        break;
      }
      if (op.role === 'begin') this.holder = op.tx;
      if (op.priority === 'bulk' && (op.tx === 0 || op.role === 'begin')) this.bulkStartedAt = performance.now();
      // The thread runs statements in order: once COMMIT/ROLLBACK is sent, whatever follows runs after it.
      if (op.role === 'end') this.holder = 0;
      const id = ++this.msgSeq;
      const timer = setTimeout(() => this.hung(id), this.opts.statementMs + (this.opts.hangGraceMs ?? HANG_GRACE_MS));
      timer.unref();
      this.inflight.set(id, { op, timer });
      this.stats.statements++;
      w.postMessage({ id, ...op.msg });
    }
    this.refresh();
  }

  private hung(id: number): void {
    const entry = this.inflight.get(id);
    const w = this.worker;
    if (!entry || !w) return;
    this.worker = null;
    void w.terminate();
    this.lost(new Error(`the embedded database did not answer within ${this.opts.statementMs + (this.opts.hangGraceMs ?? HANG_GRACE_MS)} ms; restarting it`));
  }

  /** The thread keeps the process alive only while it has work (a CLI that forgets to close still exits). */
  private refresh(): void {
    const busy = this.inflight.size + this.requests.length + this.background.length + this.bulk.length + this.held.length > 0 || this.holder !== 0;
    if (busy) this.worker?.ref();
    else this.worker?.unref();
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.enqueue({ op: 'query', sql, params }, 0, 'plain')) as T[];
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>, _opts?: { retry?: boolean }): Promise<T> {
    const id = ++this.txSeq;
    await this.enqueue({ op: 'query', sql: 'BEGIN' }, id, 'begin');
    const q: Queryable = {
      query: async <R>(sql: string, params: readonly unknown[] = []) => (await this.enqueue({ op: 'query', sql, params }, id, 'plain')) as R[],
    };
    let out: T;
    try {
      out = await fn(q);
    } catch (err) {
      if (this.holder === id) await this.enqueue({ op: 'query', sql: 'ROLLBACK' }, id, 'end').catch(() => undefined);
      throw err;
    }
    if (this.holder !== id) throw new DatabaseUnavailableError(new Error('the transaction was lost with the embedded database thread'));
    await this.enqueue({ op: 'query', sql: 'COMMIT' }, id, 'end');
    return out;
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
    if (first) await this.enqueue({ op: 'listen', channel }, 0, 'plain');
    return async () => {
      if (onReconnect) this.reconnectHandlers.delete(onReconnect);
      const s = this.handlers.get(channel);
      if (!s) return;
      s.delete(onPayload);
      if (s.size === 0) {
        this.handlers.delete(channel);
        if (!this.closed) await this.enqueue({ op: 'unlisten', channel }, 0, 'plain').catch(() => undefined);
      }
    };
  }

  notificationsLive(): boolean {
    // While the thread is down (or being started again) notifications are lost; its restart tells subscribers.
    return this.handlers.size > 0 && this.worker !== null && !this.restarting && !this.closed;
  }

  /** Ends the thread as a crash would (operations and tests): what it held fails, and it is started again. */
  async terminateThread(): Promise<void> {
    await this.worker?.terminate();
  }

  /** The thread's memory (for diagnostics and the bench). */
  async memory(): Promise<NodeJS.MemoryUsage> {
    return (await this.enqueue({ op: 'memory' }, 0, 'plain'))[0] as NodeJS.MemoryUsage;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const w = this.worker;
    if (w && !this.restarting) {
      // After everything already queued (a transaction in progress included).
      await this.enqueue({ op: 'close' }, 0, 'plain').catch(() => undefined);
    }
    this.closed = true;
    for (const op of [...this.requests.splice(0), ...this.background.splice(0), ...this.bulk.splice(0), ...this.held.splice(0)]) {
      op.reject(new DatabaseUnavailableError(new Error('the embedded database is closed')));
    }
    this.worker = null;
    if (w) await w.terminate();
    await this.restarting;
  }
}
