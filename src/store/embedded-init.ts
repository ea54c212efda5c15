/**
 * Creating a new embedded data dir (initdb), in a short-lived child process.
 *
 * PGlite's initdb runs a second PostgreSQL instance, snapshots its whole WASM heap (128 MB, the module's minimum) and
 * restores it before every step: ≈ 550 MB at its peak in a process of its own. In a worker thread of the server that
 * memory was mostly returned when the thread ended, but ≈ 100–150 MB stayed resident in the process's malloc arenas
 * (glibc keeps a dead thread's freed chunks for later threads), which is what the server's idle RSS carried after a
 * first start. A process gives every byte back when it exits, and its settings are its own: V8's baseline compiler
 * only (the optimizing tier's compile memory is not worth it for a one-off run), a small young generation, and one
 * malloc arena with large blocks mapped and unmapped directly (together ≈ 590 → 425 MB at the peak; measured with
 * bench/memory.ts, docs/benchmarks.md "Memory").
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER_FILE = fileURLToPath(new URL('./pglite-worker.mjs', import.meta.url));

/** V8 options of the creating process; it is started again without them if this Node does not know one. */
const NODE_FLAGS = ['--liftoff-only', '--max-semi-space-size=1'];
const MALLOC_ENV = { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' };
/** Node's exit code for an invalid command-line option. */
const BAD_OPTION = 9;

export interface CreateStatements {
  /** Run one by one outside a transaction (ALTER SYSTEM). */
  system?: string[] | undefined;
  /** Run in one transaction after `system` (the schema migrations). */
  schema?: string[] | undefined;
}

/**
 * Creates the embedded data dir `dataDir` (which must not hold a database yet), runs `statements` in it, and writes
 * it to disk. Rejects with the database's error (message, SQLSTATE code...) if any step fails; nothing is left at
 * `dataDir` then.
 */
export async function createEmbeddedDir(dataDir: string, statements: CreateStatements = {}): Promise<void> {
  const input = JSON.stringify({ system: statements.system ?? [], schema: statements.schema ?? [] });
  const first = await run(dataDir, input, NODE_FLAGS);
  const result = first.code === BAD_OPTION ? await run(dataDir, input, []) : first;
  if (result.code === 0) return;
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(result.stderr.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    fields = { message: `creating the embedded database failed (exit ${result.code}): ${result.stderr.trim().slice(-500)}` };
  }
  const err = new Error(typeof fields['message'] === 'string' ? fields['message'] : 'creating the embedded database failed');
  for (const [k, v] of Object.entries(fields)) if (k !== 'message') (err as unknown as Record<string, unknown>)[k] = v;
  throw err;
}

function run(dataDir: string, input: string, flags: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, WORKER_FILE, 'init', dataDir], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, ...MALLOC_ENV, NODE_OPTIONS: '' },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}
