/**
 * The server benchmark: Parley in a child process (`node bin/parley.mjs serve`) against a raw node:http server
 * serving the same bytes from memory, measured in the same run, on the embedded database and on PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { signUserToken } from '../src/core/tokens.ts';
import { REPO, startParley, startRaw, startWorker, type Child } from './child.ts';
import { API, ASSISTANT, Api, QUESTION, USER, prepare } from './fixture.ts';
import { closedLoop, median, requestBytes, streamLoop, type LoadResult, type Target } from './load.ts';
import { summarizeProfile } from './profile.ts';

export type Database = 'embedded' | 'postgres';
export type ScenarioKey = 'get' | 'list' | 'create' | 'stream';

export interface ServerBenchOptions {
  databases: Database[];
  /** Which scenarios (default: all). */
  scenarios: ScenarioKey[];
  reps: number;
  durationMs: number;
  warmupMs: number;
  /** Fixed concurrency of the request/response scenarios. */
  connections: number;
  /** Concurrent streams of the SSE scenario. */
  streams: number;
  /** PostgreSQL server (without database name); a fresh database is created on it and dropped after. */
  pgUrl: string;
  /** Write and summarise CPU profiles of the Parley children. */
  profile: boolean;
  /** PostgreSQL only: answer in a separate `parley worker` process, the HTTP process running with --no-worker. */
  workerProcess: boolean;
  log: (line: string) => void;
}

export interface Figure {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Stream scenario only: streams read to their end per second. */
  streamsPerSecond?: number;
}

export interface ScenarioResult {
  key: ScenarioKey;
  title: string;
  parley: Figure;
  raw: Figure;
  /** Median over repetitions of Parley req/s ÷ raw req/s of the same repetition. */
  ratio: number;
  reps: { parley: LoadResult; raw: LoadResult }[];
}

export interface DatabaseResult {
  database: Database;
  version: string;
  scenarios: ScenarioResult[];
  /** What the measured bodies were. */
  fixture: { getBytes: number; citations: number; listBytes: number; listMessages: number; streamEvents: number };
  profiles: string[];
}

/** How long the baseline holds a stream open after its first frame: about as long as an answer takes under load. */
export const STREAM_HOLD_MS = 3000;

export const TITLES: Record<ScenarioKey, string> = {
  get: 'GET response (completed, cited answer)',
  list: 'list conversation messages (20 messages)',
  create: 'create response (POST, 202; worker off)',
  stream: 'stream POST → first SSE byte',
};

function figure(results: LoadResult[]): Figure {
  const f: Figure = {
    rps: median(results.map((r) => r.rps)),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
  const sps = results.map((r) => (r as { streamsPerSecond?: number }).streamsPerSecond).filter((v): v is number => v !== undefined);
  if (sps.length) f.streamsPerSecond = median(sps);
  return f;
}

/** One scenario: `reps` repetitions, Parley and raw alternating which goes first. */
async function measure(
  key: ScenarioKey,
  o: ServerBenchOptions,
  parley: Target,
  raw: Target,
  run: (target: Target, warmupMs: number) => Promise<LoadResult>,
): Promise<ScenarioResult> {
  const reps: { parley: LoadResult; raw: LoadResult }[] = [];
  for (let i = 0; i < o.reps; i++) {
    // A full warm-up before the first repetition of each side; short ones after.
    const warm = i === 0 ? o.warmupMs : Math.min(o.warmupMs, 300);
    let p: LoadResult;
    let r: LoadResult;
    if (i % 2 === 0) {
      r = await run(raw, warm);
      p = await run(parley, warm);
    } else {
      p = await run(parley, warm);
      r = await run(raw, warm);
    }
    reps.push({ parley: p, raw: r });
    const extra = key === 'stream' ? ` | ${(p as { streamsPerSecond?: number }).streamsPerSecond?.toFixed(0)} streams/s` : '';
    o.log(
      `  ${key} rep ${i + 1}: parley ${p.rps.toFixed(0)}/s p50 ${p.p50.toFixed(2)} p99 ${p.p99.toFixed(2)} ms${p.errors ? ` (${p.errors} errors)` : ''}${extra} | raw ${r.rps.toFixed(0)}/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms`,
    );
  }
  return {
    key,
    title: TITLES[key],
    parley: figure(reps.map((x) => x.parley)),
    raw: figure(reps.map((x) => x.raw)),
    ratio: median(reps.map((x) => x.parley.rps / x.raw.rps)),
    reps,
  };
}

async function withPostgres<T>(pgUrl: string, fn: (url: string, version: string) => Promise<T>): Promise<T> {
  const name = `parley_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: `${pgUrl}/postgres` });
  await admin.connect();
  try {
    const version = ((await admin.query('SHOW server_version')).rows[0] as { server_version: string }).server_version;
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      return await fn(`${pgUrl}/${name}`, `PostgreSQL ${version}`);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

/** Runs every scenario on one database. */
async function benchDatabase(database: Database, o: ServerBenchOptions, databaseUrl: string | undefined, version: string): Promise<DatabaseResult> {
  const dir = mkdtempSync(join(tmpdir(), `parley-bench-${database}-`));
  const secret = randomBytes(32).toString('hex');
  const profileDir = o.profile ? join(dir, 'profiles') : undefined;
  const children: Child[] = [];
  const start = async (worker: boolean) => {
    const c = await startParley({ dataDir: join(dir, 'data'), databaseUrl, secret, worker, logFile: join(dir, 'parley.log'), profileDir });
    children.push(c);
    return c;
  };
  try {
    const split = o.workerProcess && database === 'postgres';
    o.log(`${database}: starting parley (${version})${split ? ' with the worker in its own process' : ''}`);
    const t0 = Date.now();
    let parley = await start(!split);
    if (split) children.push(await startWorker({ dataDir: join(dir, 'data'), databaseUrl, secret, logFile: join(dir, 'worker.log'), profileDir }));
    o.log(`  ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const token = await signUserToken({ hsKey: new TextEncoder().encode(secret), issuer: 'parley', audience: 'parley' }, USER, 3600);
    const api = new Api(`http://127.0.0.1:${parley.port}`, token);
    const t1 = Date.now();
    const fx = await prepare(api, o);
    o.log(`  data prepared in ${((Date.now() - t1) / 1000).toFixed(1)} s: answer ${fx.summary.getBytes} B with ${fx.summary.citations} citation(s); list of ${fx.summary.listMessages} messages, ${fx.summary.listBytes} B`);
    const raw = await startRaw(fx.routes, join(dir, 'raw.log'), STREAM_HOLD_MS);
    children.push(raw);
    const rawTarget: Target = { host: '127.0.0.1', port: raw.port };
    const auth = { authorization: `Bearer ${token}`, 'assistant-name': ASSISTANT };
    const scenarios: ScenarioResult[] = [];
    let target: Target = { host: '127.0.0.1', port: parley.port };

    const requestLoop = (req: (t: Target, conn: number) => Buffer, expectStatus: number) => (t: Target, warmupMs: number) =>
      closedLoop({ target: t, connections: o.connections, warmupMs, durationMs: o.durationMs, request: (conn) => req(t, conn), expectStatus });

    if (o.scenarios.includes('get')) {
      const bytes = new Map<number, Buffer>();
      const req = (t: Target) => bytes.get(t.port) ?? bytes.set(t.port, requestBytes(t, 'GET', API + fx.getPath, auth)).get(t.port)!;
      scenarios.push(await measure('get', o, target, rawTarget, requestLoop(req, 200)));
    }
    if (o.scenarios.includes('list')) {
      const bytes = new Map<number, Buffer>();
      const req = (t: Target) => bytes.get(t.port) ?? bytes.set(t.port, requestBytes(t, 'GET', API + fx.listPath, auth)).get(t.port)!;
      scenarios.push(await measure('list', o, target, rawTarget, requestLoop(req, 200)));
    }
    if (o.scenarios.includes('stream')) {
      const body = JSON.stringify({ input: { text: QUESTION } });
      const turns = new Map<string, number>();
      const run = (t: Target, warmupMs: number) =>
        streamLoop({
          target: t,
          streams: o.streams,
          warmupMs,
          durationMs: o.durationMs,
          expectStatus: 200,
          request: (i) => {
            const convs = fx.streamConvs[i]!;
            const k = `${t.port}:${i}`;
            const n = turns.get(k) ?? 0;
            turns.set(k, n + 1);
            return requestBytes(t, 'POST', `${API}/conversations/${convs[n % convs.length]}/responses/stream`, { ...auth, accept: 'text/event-stream' }, body);
          },
        });
      scenarios.push(await measure('stream', o, target, rawTarget, run));
    }
    if (o.scenarios.includes('create')) {
      // Without the worker, so the figure is the accept path alone; answering would share the event loop.
      for (const c of children.splice(0)) if (c !== raw) await c.stop();
      children.push(raw);
      parley = await start(false);
      target = { host: '127.0.0.1', port: parley.port };
      const body = JSON.stringify({ input: { text: QUESTION } });
      const req = (t: Target, conn: number) => requestBytes(t, 'POST', `${API}/conversations/${fx.createConvs[conn]}/responses`, auth, body);
      scenarios.push(await measure('create', o, target, rawTarget, requestLoop(req, 202)));
    }
    for (const c of children) await c.stop();
    const profiles: string[] = [];
    if (profileDir) {
      for (const f of readdirSync(profileDir).filter((n) => n.endsWith('.cpuprofile'))) {
        const summary = summarizeProfile(join(profileDir, f), 20);
        profiles.push(summary);
        o.log(`  CPU profile ${f}:\n${summary}`);
      }
    }
    return { database, version, scenarios, fixture: fx.summary, profiles };
  } finally {
    for (const c of children) await c.stop();
    if (!o.profile) rmSync(dir, { recursive: true, force: true });
    else o.log(`  kept ${dir} (profiles)`);
  }
}

/** The whole server benchmark. */
export async function runServerBench(o: ServerBenchOptions): Promise<DatabaseResult[]> {
  const out: DatabaseResult[] = [];
  for (const database of o.databases) {
    if (database === 'postgres') out.push(await withPostgres(o.pgUrl, (url, version) => benchDatabase('postgres', o, url, version)));
    else {
      const { version } = JSON.parse(readFileSync(join(REPO, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
      out.push(await benchDatabase('embedded', o, undefined, `PGlite ${version}`));
    }
  }
  return out;
}
