// The embedded database's thread: PGlite (PostgreSQL in WASM) runs here, off the server's event loop, so HTTP
// parsing, SSE writes and keep-alives go on while a query runs. Plain JavaScript on purpose: a worker thread does
// not inherit the TypeScript loader the main thread was started with on every Node version.
//
// Protocol (the only caller is src/store/embedded.ts):
//   in:  { id, op: 'query', sql, params } | { id, op: 'listen' | 'unlisten', channel } | { id, op: 'close' }
//   out: { t: 'ready', hasVector } | { t: 'failed', error } | { t: 'result', id, rows } | { t: 'error', id, error }
//        | { t: 'notify', channel, payload } | { t: 'memory', ... }
// Statements run strictly in the order they arrive; the main thread decides that order (priorities, transactions).
//
// The same file creates a new data dir as a short-lived child process (src/store/embedded-init.ts):
//   node pglite-worker.mjs init DIR   (stdin: { system: string[], schema: string[] }; exit code 0, or 1 and the
//   error's fields as JSON on stderr)
import { parentPort, workerData } from 'node:worker_threads';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const creating = !parentPort && process.argv[2] === 'init';
const { dataDir, vector } = creating ? { dataDir: process.argv[3], vector: false } : workerData;

// PGlite's own start parameters, plus a smaller buffer pool: PostgreSQL's default 128 MB of shared buffers lives in
// the WASM heap (which never shrinks) and a single-connection embedded database gets little from it over the OS
// page cache. initdb runs with even less (its heap is snapshotted and copied per step) and one connection slot, and
// so does the database the creating process opens to set the data dir up (it only runs DDL on empty tables).
const START = ['--single', '-F', '-O', '-j', '-c', 'search_path=public', '-c', 'exit_on_error=false', '-c', 'log_checkpoints=false',
  '-c', 'max_worker_processes=0', '-c', 'max_parallel_workers=0', '-c', 'max_parallel_workers_per_gather=0', '-c', 'io_method=sync',
  '-c', 'max_parallel_maintenance_workers=0'];
const SHARED_BUFFERS = creating ? '1MB' : (workerData.sharedBuffers ?? '32MB');
const startParams = [...START, '-c', `shared_buffers=${SHARED_BUFFERS}`, '-c', 'max_connections=3'];
const initDbStartParams = ['-c', 'shared_buffers=8MB', '-c', 'max_connections=3'];

// A database error's fields, so the main thread can rebuild an error that looks like PGlite's own.
const FIELDS = ['name', 'message', 'code', 'detail', 'hint', 'position', 'internalPosition', 'internalQuery', 'where', 'schema', 'table', 'column', 'dataType', 'constraint', 'file', 'line', 'routine', 'severity'];
function serialize(err) {
  const out = {};
  if (err && typeof err === 'object') {
    for (const f of FIELDS) if (err[f] !== undefined && typeof err[f] !== 'function' && typeof err[f] !== 'object') out[f] = err[f];
  } else out.message = String(err);
  if (!out.message) out.message = String(err);
  return out;
}

let pg;
const listeners = new Map();

/**
 * Creates a new database in memory and writes its files into the data dir: initdb on a file data dir runs a second
 * PGlite with its own copy of the files and a tar round trip, ≈ 200 MB more. `system` statements (ALTER SYSTEM) run
 * first, then `schema` in one transaction (the migrations), so the serving thread opens a data dir that is ready.
 * This runs in a process of its own, which ends right after: initdb snapshots and restores PGlite's whole WASM heap
 * per step, and the memory a thread used for that stayed in the process's malloc arenas after the thread ended.
 */
async function initDir({ system = [], schema = [] }) {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite('memory://', { startParams, initDbStartParams });
  await db.waitReady;
  for (const sql of system) await db.exec(sql);
  if (schema.length) {
    await db.transaction(async (tx) => {
      for (const sql of schema) await tx.exec(sql);
    });
  }
  await db.query('CHECKPOINT');
  // Straight from PGlite's in-memory file system to disk, a file at a time (what its dumpDataDir tars), into a
  // side directory renamed into place at the end: a start cut short leaves no half-written data dir behind.
  const side = `${dataDir}.creating`;
  rmSync(side, { recursive: true, force: true });
  copyTree(db.Module.FS, '/pglite/data', side);
  await db.close();
  if (existsSync(dataDir)) rmdirSync(dataDir); // only an empty directory (a data dir would have had PG_VERSION)
  renameSync(side, dataDir);
}

function copyTree(fs, from, to) {
  mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const name of fs.readdir(from)) {
    if (name === '.' || name === '..') continue;
    const src = `${from}/${name}`;
    const { mode } = fs.stat(src);
    if (fs.isDir(mode)) copyTree(fs, src, join(to, name));
    else if (fs.isFile(mode)) writeFileSync(join(to, name), fs.readFile(src), { mode: 0o600 });
  }
}

async function open() {
  const { PGlite } = await import('@electric-sql/pglite');
  const extensions = {};
  if (vector) {
    const mod = await import('@electric-sql/pglite-pgvector');
    extensions.vector = mod.vector;
  }
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const options = { extensions, startParams, initDbStartParams };
  pg = new PGlite(dataDir, options);
  await pg.waitReady;
  let hasVector = false;
  if (vector) {
    await pg.exec('CREATE EXTENSION IF NOT EXISTS vector');
    hasVector = true;
  }
  return hasVector;
}

async function handle(msg) {
  switch (msg.op) {
    case 'query':
      return (await pg.query(msg.sql, msg.params)).rows;
    case 'listen': {
      if (!listeners.has(msg.channel)) {
        const off = await pg.listen(msg.channel, (payload) => parentPort.postMessage({ t: 'notify', channel: msg.channel, payload }));
        listeners.set(msg.channel, off);
      }
      return [];
    }
    case 'unlisten': {
      const off = listeners.get(msg.channel);
      listeners.delete(msg.channel);
      if (off) await off();
      return [];
    }
    case 'close':
      if (!pg.closed) await pg.close();
      return [];
    case 'memory':
      return [process.memoryUsage()];
    default:
      throw new Error(`unknown operation ${msg.op}`);
  }
}

if (creating) {
  const input = readFileSync(0, 'utf8');
  initDir(input.trim() ? JSON.parse(input) : {}).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${JSON.stringify(serialize(err))}\n`);
      process.exit(1);
    },
  );
} else open().then(
  (hasVector) => {
    parentPort.on('message', (msg) => {
      handle(msg).then(
        (rows) => {
          try {
            parentPort.postMessage({ t: 'result', id: msg.id, rows });
          } catch (err) {
            // A value structured clone cannot carry: an error of this statement, not of the thread.
            parentPort.postMessage({ t: 'error', id: msg.id, error: serialize(err) });
          }
        },
        (err) => parentPort.postMessage({ t: 'error', id: msg.id, error: serialize(err) }),
      );
    });
    parentPort.postMessage({ t: 'ready', hasVector });
  },
  (err) => parentPort.postMessage({ t: 'failed', error: serialize(err) }),
);
