/**
 * Memory of `npm start` (docs/benchmarks.md, "Memory"): `node bin/parley.mjs serve` with the demo, embedded database.
 *
 *   npm run bench:memory -- [--fresh 3] [--later 2] [--idle 10] [--repo DIR] [--write]
 *
 * Starts the server `--fresh` times, each on a new empty data dir (initdb, migrations, demo load), then `--later`
 * times on the data dir the last fresh start left (stopped cleanly in between). While each runs, the resident set
 * size of the whole process (every thread; child processes added, if any) is read from /proc/<pid>/status every
 * 100 ms from outside. Reported per start: the peak of those samples, the kernel's own high-water mark (VmHWM: the
 * exact peak, samples can miss a short one), the RSS when ready (the "parley is serving" log line) and the RSS
 * `--idle` seconds later with no requests (the idle figure), and the time to ready. Then the medians.
 * `--repo DIR` measures another checkout (for comparing commits: `git worktree add --detach DIR <commit>`).
 * `--write` writes bench/results/memory.md. Figures are MiB (1,048,576 bytes).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, REPO } from './child.ts';

const { values } = parseArgs({
  options: {
    fresh: { type: 'string', default: '3' },
    later: { type: 'string', default: '2' },
    idle: { type: 'string', default: '10' },
    repo: { type: 'string' },
    write: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/memory.md' },
    /** Extra environment for the server, NAME=value (repeatable; diagnostics). */
    env: { type: 'string', multiple: true, default: [] },
  },
});

const repo = resolve(values.repo ?? REPO);
const FRESH = Number(values.fresh);
const LATER = Number(values.later);
const IDLE_MS = Number(values.idle) * 1000;
const SAMPLE_MS = 100;
const READY_TIMEOUT_MS = 600_000;

/** kB fields of /proc/<pid>/status, or null once the process is gone. */
function status(pid: number): { rss: number; hwm: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** The process and its descendants (the server starts none today; counted if it ever does). */
function family(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    try {
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(/\s+/)) out.push(Number(k));
      }
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Resident KiB of the process and its descendants, and their high-water marks (VmHWM: the kernel updates it lazily,
 * so it can miss a short spike just as a sample can; the peak reported is the larger of the two).
 */
function rssKb(pid: number): { rss: number; hwm: number } {
  let rss = 0;
  let hwm = 0;
  for (const p of family(pid)) {
    const s = status(p);
    rss += s?.rss ?? 0;
    hwm += Math.max(s?.hwm ?? 0, s?.rss ?? 0);
  }
  return { rss, hwm };
}

const mib = (kb: number) => kb / 1024;
const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '–');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Run {
  kind: 'fresh' | 'later';
  /** MiB. */
  /** Largest sample. */
  peak: number;
  /** Largest of the samples and the kernel's high-water marks: the peak figure. */
  hwm: number;
  atReady: number;
  idle: number;
  readyS: number;
  load: number;
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((resolveStop) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolveStop();
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    proc.kill('SIGTERM');
  });
}

async function measure(kind: Run['kind'], dataDir: string, logFile: string): Promise<Run> {
  const port = await freePort();
  const env: Record<string, string | undefined> = { ...process.env };
  // As `npm start` on a machine with no configuration: embedded database, demo data, offline engine, info logs.
  for (const k of Object.keys(env)) if (k.startsWith('PARLEY_') || k.startsWith('LLM_') || k.startsWith('EMBEDDINGS_')) delete env[k];
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS', 'LOG_LEVEL']) delete env[k];
  Object.assign(env, { HOST: '127.0.0.1', PORT: String(port), PARLEY_DATA_DIR: dataDir });
  for (const kv of values.env) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const load = loadavg()[0] ?? NaN;
  const started = performance.now();
  const proc = spawn(process.execPath, ['bin/parley.mjs', 'serve'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  let readyAt = 0;
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => {
    log.write(c);
    if (readyAt) return;
    out += c.toString();
    if (out.includes('parley is serving')) readyAt = performance.now();
    else out = out.slice(-200);
  });
  proc.stderr!.on('data', (c: Buffer) => log.write(c));
  const pid = proc.pid!;
  let peak = 0;
  let hwm = 0;
  let atReady = 0;
  let idle = 0;
  try {
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`parley exited (${proc.exitCode ?? proc.signalCode}); log: ${logFile}`);
      const { rss: kb, hwm: high } = rssKb(pid);
      peak = Math.max(peak, kb);
      hwm = Math.max(hwm, high);
      const now = performance.now();
      if (readyAt && !atReady) atReady = kb;
      if (readyAt && now - readyAt >= IDLE_MS) {
        idle = kb;
        break;
      }
      if (!readyAt && now - started > READY_TIMEOUT_MS) throw new Error(`parley was not ready within ${READY_TIMEOUT_MS / 1000} s; log: ${logFile}`);
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  } finally {
    await stop(proc);
    log.end();
  }
  return { kind, peak: mib(peak), hwm: mib(hwm), atReady: mib(atReady), idle: mib(idle), readyS: (readyAt - started) / 1000, load };
}

function line(r: Run): string {
  return `| ${r.kind} | ${f0(r.peak)} | ${f0(r.hwm)} | ${f0(r.atReady)} | ${f0(r.idle)} | ${r.readyS.toFixed(1)} | ${r.load.toFixed(1)} |`;
}

const head = ['| start | peak (samples) | peak (samples, VmHWM) | at ready | idle after ' + IDLE_MS / 1000 + ' s | ready after s | load |', '|---|---:|---:|---:|---:|---:|---:|'];
let rev = 'unknown';
try {
  rev = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim().slice(0, 100);
} catch {
  // not a git checkout
}

console.log(`memory of node bin/parley.mjs serve in ${repo} (${rev}); ${FRESH} fresh + ${LATER} later starts, sampled every ${SAMPLE_MS} ms, MiB`);
console.log(head.join('\n'));
const work = mkdtempSync(join(tmpdir(), 'parley-memory-'));
const runs: Run[] = [];
let lastDir = '';
try {
  for (let i = 0; i < FRESH; i++) {
    if (lastDir) rmSync(lastDir, { recursive: true, force: true });
    lastDir = join(work, `data-${i}`);
    const r = await measure('fresh', lastDir, join(work, `server-${i}.log`));
    runs.push(r);
    console.log(line(r));
  }
  for (let i = 0; i < LATER && lastDir && existsSync(lastDir); i++) {
    const r = await measure('later', lastDir, join(work, `server-later-${i}.log`));
    runs.push(r);
    console.log(line(r));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const summary: string[] = [];
for (const kind of ['fresh', 'later'] as const) {
  const rs = runs.filter((r) => r.kind === kind);
  if (!rs.length) continue;
  const m = (k: keyof Omit<Run, 'kind'>) => median(rs.map((r) => r[k]));
  summary.push(
    `${kind} starts (${rs.length}), medians: peak ${f0(m('peak'))} MiB in the samples, ${f0(m('hwm'))} MiB with VmHWM, ` +
      `at ready ${f0(m('atReady'))} MiB, idle ${f0(m('idle'))} MiB, ready after ${m('readyS').toFixed(1)} s (load ${m('load').toFixed(1)})`,
  );
}
console.log(summary.join('\n'));
const fresh = runs.filter((r) => r.kind === 'fresh');
if (fresh.length) {
  const peak = median(fresh.map((r) => r.hwm));
  const idle = median(fresh.map((r) => r.idle));
  // The bounds, in MB (10^6 bytes) as written there: 700 MB = 667.6 MiB, 400 MB = 381.5 MiB.
  console.log(`issue 9: first start peak < 700 MB: ${peak * 1.048576 < 700 ? 'met' : 'NOT met'} (${f0(peak * 1.048576)} MB); ` +
    `idle < 400 MB: ${idle * 1.048576 < 400 ? 'met' : 'NOT met'} (${f0(idle * 1.048576)} MB)`);
}
if (values.write) {
  const md = [
    '# Memory of `npm start` (bench/memory.ts)',
    '',
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${rev}, Node ${process.version}. Whole process RSS from /proc, every ${SAMPLE_MS} ms, MiB.`,
    '',
    ...head,
    ...runs.map(line),
    '',
    ...summary.map((s) => `- ${s}`),
    '',
  ].join('\n');
  writeFileSync(join(REPO, values.out), md);
  console.log(`written to ${values.out}`);
}
