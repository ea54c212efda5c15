/**
 * A large ingest into a running embedded server (docs/benchmarks.md, "Serving during a large ingest").
 *
 *   node --import tsx bench/ingest-load.ts [--mb 50] [--port 18990]
 *
 * Starts `parley serve` (as `npm start` does: embedded database, demo data, offline engine) on a fresh data dir,
 * posts generated Markdown articles to POST /admin/v1/ingest in the CLI's batch shape (190 documents a call) while
 * two clients probe /healthz back to back and a third asks questions one after another (posting to the final state),
 * then removes the whole source again (prune) and reports latencies, the data dir's size and the server's RSS.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatedArticle } from '../test/support/generated-articles.ts';
import { REPO } from './child.ts';
import { du, rssMiB } from './proc.ts';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '50' }, port: { type: 'string', default: '18990' }, out: { type: 'string', default: 'bench/results/ingest-load.md' } },
});
/** Every reported line, also written to --out (Markdown) at the end. */
const report: string[] = [];
const say = (line: string) => {
  report.push(line);
  console.log(line);
};
const TARGET_BYTES = Number(values.mb) * 1_000_000;
const port = Number(values.port);
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'parley-ingest-load-'));
const env = { ...process.env, PARLEY_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '1000000' };

const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const max = (xs: number[]) => xs.reduce((m, x) => Math.max(m, x), -Infinity);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

const started = performance.now();
process.on('exit', () => child.kill('SIGKILL'));
const child = spawn(process.execPath, [join(REPO, 'bin/parley.mjs'), 'serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
for (;;) {
  const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
  if (ok) break;
  if (performance.now() - started > 180_000) throw new Error('server did not start');
  await new Promise((r) => setTimeout(r, 200));
}
say(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s, RSS ${rssMiB(child.pid!).toFixed(0)} MB, data dir ${mb(du(dataDir))}`);
const token = (args: string[]) => execFileSync(process.execPath, [join(REPO, 'bin/parley.mjs'), 'token', ...args], { env, encoding: 'utf8' }).trim();
const admin = token(['--user', 'ops@acme.example', '--groups', 'parley-admins']);
const user = token(['--user', 'maya.chen@acme.example']);
const assistant = 'acmecorp-conversations-rest-api';
const headers = { authorization: `Bearer ${user}`, 'assistant-name': assistant, 'content-type': 'application/json' };

let ingesting = true;
let peakRss = 0;
const probes: number[] = [];
const asks: number[] = [];
const probe = async () => {
  while (ingesting) {
    const t = performance.now();
    const r = await fetch(`${base}/healthz`);
    await r.arrayBuffer();
    probes.push(performance.now() - t);
    peakRss = Math.max(peakRss, rssMiB(child.pid!));
  }
};
const ask = async () => {
  while (ingesting) {
    const t = performance.now();
    const conv = (await (await fetch(`${base}/rest/v1beta1/conversations`, { method: 'POST', headers, body: '{}' })).json()) as Record<string, string>;
    const posted = await fetch(`${base}/rest/v1beta1/conversations/${conv['conversation_id']}/responses`, {
      method: 'POST', headers, body: JSON.stringify({ input: { text: 'How do I reset my VPN password?' } }),
    });
    const id = ((await posted.json()) as Record<string, string>)['response_id'];
    for (;;) {
      const res = await fetch(`${base}/rest/v1beta1/conversations/${conv['conversation_id']}/responses/${id}`, { headers });
      if (res.status !== 200) throw new Error(`poll: ${res.status}`);
      const r = (await res.json()) as Record<string, string>;
      if (r['status'] === 'COMPLETED' || r['status'] === 'FAILED') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    asks.push(performance.now() - t);
  }
};

const root = '/bench/ingest-load';
const before = du(dataDir);
const probing = [probe(), probe(), ask()];
let bytes = 0;
let docs = 0;
const batchTimes: number[] = [];
const t0 = performance.now();
try {
  while (bytes < TARGET_BYTES) {
    const documents = Array.from({ length: 190 }, () => {
      const n = docs++;
      return { path: `a${n}.md`, format: 'markdown', title: `Article ${n}`, url: `https://kb.example.test/a/${n}`, updatedAt: null, access: ['*'], body: generatedArticle(n, 2600) };
    });
    const body = JSON.stringify({ assistant, root, documents, people: [] });
    bytes += body.length;
    const t = performance.now();
    const r = await fetch(`${base}/admin/v1/ingest`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body });
    if (r.status !== 200) throw new Error(`ingest: ${r.status} ${(await r.text()).slice(0, 300)}`);
    await r.arrayBuffer();
    batchTimes.push(performance.now() - t);
    if (batchTimes.length % 10 === 0) console.log(`  ${batchTimes.length} calls, ${mb(bytes)}, data dir ${mb(du(dataDir))}`);
  }
} finally {
  ingesting = false;
  await Promise.allSettled(probing);
}
const ingestSeconds = (performance.now() - t0) / 1000;
const after = du(dataDir);
const rssAfter = rssMiB(child.pid!);
say(`ingested ${mb(bytes)} (${docs} documents, ${batchTimes.length} calls) in ${ingestSeconds.toFixed(0)} s; batch p50 ${pct(batchTimes, 50).toFixed(0)} ms, max ${max(batchTimes).toFixed(0)} ms`);
say(`/healthz during the ingest: ${probes.length} probes, p50 ${pct(probes, 50).toFixed(1)} ms, p99 ${pct(probes, 99).toFixed(0)} ms, max ${max(probes).toFixed(0)} ms`);
say(`questions during the ingest: ${asks.length}, p50 ${pct(asks, 50).toFixed(0)} ms, max ${max(asks).toFixed(0)} ms`);
say(`data dir ${mb(before)} → ${mb(after)}; server RSS peak ${peakRss.toFixed(0)} MB, after ${rssAfter.toFixed(0)} MB`);

// Remove the whole source again (prune with nothing kept; force, as it is more than half of it).
const t1 = performance.now();
const removed = await fetch(`${base}/admin/v1/ingest`, {
  method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
  body: JSON.stringify({ assistant, root, documents: [], people: [], prune: true, force: true, keepPaths: [] }),
});
const summary = (await removed.json()) as { removed?: number };
say(`removed ${summary.removed} documents in ${((performance.now() - t1) / 1000).toFixed(1)} s; data dir ${mb(du(dataDir))}; RSS ${rssMiB(child.pid!).toFixed(0)} MB`);

child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
if (values.out) {
  const file = join(REPO, values.out);
  mkdirSync(join(file, '..'), { recursive: true });
  const head = [
    '# Serving during a large ingest (embedded database)',
    '',
    `Generated by \`node --import tsx bench/ingest-load.ts --mb ${values.mb}\` on ${new Date().toISOString().slice(0, 10)}: \`parley serve\` as \`npm start\` runs it ` +
      `(embedded database${process.env['PARLEY_EMBEDDED_THREAD'] === 'false' ? ' in process' : ' on its worker thread'}, demo data, offline engine), admin-endpoint ingest calls of 190 generated articles ` +
      'while two clients probe /healthz back to back and a third asks questions one after another (posting to the final state). ' +
      `Node ${process.version}; load average at the end ${loadavg()[0]!.toFixed(1)} on this shared 2-core machine.`,
    '',
  ];
  writeFileSync(file, [...head, ...report.map((l) => `- ${l.trim()}`), ''].join('\n'));
  console.log(`wrote ${values.out}`);
}
rmSync(dataDir, { recursive: true, force: true });
