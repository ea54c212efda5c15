/**
 * `npm run bench`: the server benchmark (bench/server.ts), then the retrieval benchmark (bench/retrieval.ts, when
 * present). Writes bench/results/server.md and refreshes the generated sections of docs/benchmarks.md.
 *
 *   --quick              1 repetition of 2 s (development; results are not written unless --write)
 *   --db embedded|postgres|both   (default both)
 *   --only get,list,create,stream (default all)
 *   --reps N --duration S --warmup S --connections N --streams N
 *   --profile            CPU-profile the Parley child processes and print where the time goes
 *   --worker-process     on PostgreSQL, answer in a separate `parley worker` process (HTTP runs --no-worker)
 *   --no-retrieval       skip bench/retrieval.ts
 *   --pg-url URL         PostgreSQL server (default postgres://postgres@127.0.0.1:5432, or BENCH_PG_URL)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from './child.ts';
import { machine, serverMarkdown, tables, verdicts } from './report.ts';
import { runServerBench, type Database, type ScenarioKey } from './server.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    db: { type: 'string', default: 'both' },
    only: { type: 'string' },
    reps: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '32' },
    streams: { type: 'string', default: '100' },
    profile: { type: 'boolean', default: false },
    'worker-process': { type: 'boolean', default: false },
    'no-retrieval': { type: 'boolean', default: false },
    'no-server': { type: 'boolean', default: false },
    'pg-url': { type: 'string' },
  },
});

const num = (v: string | undefined, fallback: number) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${v}`);
  return n;
};

const databases: Database[] = values.db === 'both' ? ['embedded', 'postgres'] : values.db === 'embedded' || values.db === 'postgres' ? [values.db] : [];
if (!databases.length) throw new Error('--db must be embedded, postgres or both');
const ALL: ScenarioKey[] = ['get', 'list', 'stream', 'create'];
const scenarios = values.only ? (values.only.split(',') as ScenarioKey[]) : ALL;
for (const s of scenarios) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s}; one of ${ALL.join(', ')}`);

const options = {
  databases,
  scenarios,
  reps: num(values.reps, values.quick ? 1 : 3),
  durationMs: num(values.duration, values.quick ? 2 : 4) * 1000,
  warmupMs: num(values.warmup, values.quick ? 0.5 : 1) * 1000,
  connections: num(values.connections, 32),
  streams: num(values.streams, 100),
  pgUrl: (values['pg-url'] ?? process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/$/, ''),
  profile: values.profile,
  workerProcess: values['worker-process'],
  log: (line: string) => process.stdout.write(`${line}\n`),
};
const write = !values.quick || values.write;
const started = Date.now();
const m = machine();
const RESULTS = join(REPO, 'bench/results');
const DOC = join(REPO, 'docs/benchmarks.md');

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in docs/benchmarks.md. */
function refreshSection(name: string, body: string): void {
  if (!existsSync(DOC)) return;
  const text = readFileSync(DOC, 'utf8');
  const re = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
  if (!re.test(text)) return;
  writeFileSync(DOC, text.replace(re, (_m, a: string, b: string) => `${a}${body.trim()}\n${b}`));
}

if (!values['no-server']) {
  process.stdout.write(`server benchmark: ${m.cores} cores (${m.model}), Node ${m.node}, load average ${m.load.toFixed(2)}\n`);
  if (m.load > 0.5 * m.cores) process.stdout.write('  warning: the machine is already busy; figures will be low and noisy\n');
  const results = await runServerBench(options);
  for (const v of verdicts(results)) process.stdout.write(`${v.met ? 'target met   ' : 'target MISSED'}: ${v.text}\n`);
  if (write) {
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'server.md'), serverMarkdown(results, options, m));
    const summary = [
      `Measured ${m.date} on ${m.cores} cores (${m.model}), Node ${m.node}; medians of ${options.reps} repetitions; full data in [bench/results/server.md](../bench/results/server.md).`,
      '',
      ...verdicts(results).map((v) => `- ${v.met ? '✅' : '❌'} ${v.text}`),
      '',
      tables(results).replace(/^### /gm, '#### '),
    ].join('\n');
    refreshSection('server', summary);
    process.stdout.write('wrote bench/results/server.md\n');
  }
}

if (!values['no-retrieval']) {
  const file = join(REPO, 'bench/retrieval.ts');
  if (!existsSync(file)) process.stdout.write('retrieval benchmark: skipped (bench/retrieval.ts does not exist yet)\n');
  else {
    type RetrievalOptions = { sizes?: number[]; queries?: number; answers?: number; out?: string | null; log?: (line: string) => void };
    const mod = (await import('./retrieval.ts' as string)) as { runRetrievalBench?: (opts?: RetrievalOptions) => Promise<unknown> };
    if (typeof mod.runRetrievalBench !== 'function') process.stdout.write('retrieval benchmark: skipped (bench/retrieval.ts does not export runRetrievalBench)\n');
    else {
      process.stdout.write('retrieval benchmark:\n');
      const opts: RetrievalOptions = { log: options.log };
      // A quick run measures the smallest corpus only, and keeps the written results as they were.
      if (values.quick) Object.assign(opts, { sizes: [1000], queries: 50, answers: 20 });
      if (!write) opts.out = null;
      await mod.runRetrievalBench(opts);
    }
  }
}
// The retrieval results, fresh or from an earlier run, under the document's retrieval section (headings one level down).
const retrieval = join(RESULTS, 'retrieval.md');
if (write && existsSync(retrieval)) refreshSection('retrieval', readFileSync(retrieval, 'utf8').replace(/^(#+) /gm, '$1## '));
process.stdout.write(`bench done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
