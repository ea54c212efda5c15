/** Child processes of the benchmark: Parley (`node bin/parley.mjs serve`) and the raw node:http baseline. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface Child {
  proc: ChildProcess;
  port: number;
  logFile: string;
  /** SIGTERM, then SIGKILL after 30 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

/** A port free at the time of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function exited(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exited(proc);
    clearTimeout(timer);
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface ParleyOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** HS256 secret, so the benchmark can sign its own tokens. */
  secret: string;
  worker: boolean;
  logFile: string;
  /** Write a V8 CPU profile of the server into this directory when it exits. */
  profileDir?: string | undefined;
  /** More environment for the process (set last). */
  env?: Record<string, string> | undefined;
}

function parleyEnv(o: ParleyOptions, port: number): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  // Only what the benchmark sets decides the configuration.
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'PARLEY_CONFIG', 'PARLEY_WORKER', 'PARLEY_ENGINE', 'NODE_OPTIONS']) delete env[k];
  Object.assign(env, {
    HOST: '127.0.0.1',
    PORT: String(port),
    PARLEY_DATA_DIR: o.dataDir,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_MAX: '1000000000',
    PARLEY_JWT_SECRET: o.secret,
    ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}),
    ...o.env,
  });
  return env;
}

/** Starts `parley serve` and waits until /healthz answers. */
export async function startParley(o: ParleyOptions): Promise<Child> {
  const port = await freePort();
  const env = parleyEnv(o, port);
  const fd = openSync(o.logFile, 'a');
  const args = [...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : []), 'bin/parley.mjs', 'serve', ...(o.worker ? [] : ['--no-worker'])];
  // An IPC channel: the child stops if the bench dies without stopping it (src/main.ts, stopWithParent).
  const proc = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', fd, fd, 'ipc'] });
  closeSync(fd);
  const started = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`parley exited with ${proc.exitCode} while starting:\n${tail(o.logFile)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 300_000) {
      proc.kill('SIGKILL');
      throw new Error(`parley did not answer /healthz within 300 s:\n${tail(o.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { proc, port, logFile: o.logFile, stop: stopper(proc) };
}

/** Starts `parley worker` (answers only; PostgreSQL only): the HTTP process then runs with --no-worker. */
export async function startWorker(o: Omit<ParleyOptions, 'worker'>): Promise<Child> {
  const env = parleyEnv({ ...o, worker: true }, 0);
  const fd = openSync(o.logFile, 'a');
  const args = [...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : []), 'bin/parley.mjs', 'worker'];
  // An IPC channel: the child stops if the bench dies without stopping it (src/main.ts, stopWithParent).
  const proc = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', fd, fd, 'ipc'] });
  closeSync(fd);
  // It has no HTTP port to wait on; give it the time the server needs to open the database.
  await new Promise((r) => setTimeout(r, 2000));
  if (proc.exitCode !== null) throw new Error(`parley worker exited with ${proc.exitCode}:\n${tail(o.logFile)}`);
  return { proc, port: 0, logFile: o.logFile, stop: stopper(proc) };
}

export interface RawRoute {
  method: string;
  /** RegExp source matched against the request path. */
  pattern: string;
  status: number;
  contentType: string;
  body: string;
}

/** Starts the raw node:http baseline serving these routes. */
export async function startRaw(routes: RawRoute[], logFile: string, streamHoldMs = 0): Promise<Child> {
  const env: Record<string, string | undefined> = { ...process.env, BENCH_ROUTES: JSON.stringify(routes), BENCH_STREAM_HOLD_MS: String(streamHoldMs) };
  delete env['NODE_OPTIONS'];
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/raw-server.ts'], { cwd: REPO, env, stdio: ['ignore', 'pipe', fd] });
  closeSync(fd);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    proc.once('exit', (code) => reject(new Error(`raw server exited with ${code}:\n${tail(logFile)}`)));
  });
  return { proc, port, logFile, stop: stopper(proc) };
}
