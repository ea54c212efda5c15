/**
 * Many SSE streams open on one HTTP node (docs/benchmarks.md, "Memory"): PostgreSQL, the HTTP process running
 * `parley serve --no-worker`, the answers given by a separate `parley worker` process started once every stream is
 * open.
 *
 *   node --import tsx bench/streams-10k.ts [--streams 10000] [--responses N] [--engine fake|offline] [--concurrency N] [--worker-node-options '--max-semi-space-size=32'] [--pg-url postgres://postgres@127.0.0.1:5432]
 *
 * `--engine fake` (default): the worker uses the openai-compatible engine against a fake provider in this process
 * (test/llm/fake-openai.ts, a real socket in the real wire format) that answers every question at once, so the
 * figure is what the HTTP node and the database take to deliver the answers, not the engine's work; `offline`
 * answers with the offline engine (retrieval per answer: about ten answers a second on this machine).
 *
 * Creates a scratch database (dropped at the end), one conversation per stream, then opens every stream (a POST to
 * .../responses/stream on a socket of its own; no worker runs yet, so each stays open on its first events and
 * keep-alives). Reports the HTTP process's RSS with all of them open, then starts the worker and reports how long
 * after its start the streams ended (each at its terminal event), and the HTTP process's peak RSS meanwhile.
 * Needs a file-descriptor limit above the stream count (`ulimit -n`) for this process and the server.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { signUserToken } from '../src/core/tokens.ts';
import { startParley, startWorker, type Child } from './child.ts';
import { API, ASSISTANT, Api, QUESTION, USER } from './fixture.ts';
import { percentile, requestBytes, type Target } from './load.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../test/llm/fake-openai.ts';
import { rssMiB } from './proc.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '10000' },
    'pg-url': { type: 'string' },
    /** Streams opened at once while opening (the server's accept queue and the create batching see this many). */
    burst: { type: 'string', default: '500' },
    engine: { type: 'string', default: 'fake' },
    /** How long to wait for the streams to end after the worker started, seconds. */
    wait: { type: 'string', default: '600' },
    /** The worker's RESPONSE_CONCURRENCY (default: the engine's default, 16 for openai-compatible). */
    concurrency: { type: 'string' },
    /**
     * Spread the streams over this many responses (each created with a POST, then followed by several clients
     * with GET …/responses/{id}/stream): the HTTP node's fan-out, with the worker answering only this many
     * questions. Default: one response per stream (POST …/responses/stream), the worker answering every one.
     */
    responses: { type: 'string' },
    /** NODE_OPTIONS for the worker process (e.g. `--max-semi-space-size=32`). */
    'worker-node-options': { type: 'string' },
  },
});
const STREAMS = Number(values.streams);
const BURST = Number(values.burst);
const RESPONSES = values.responses === undefined ? undefined : Math.max(1, Math.min(Number(values.responses), Number(values.streams)));
const pgUrl = (values['pg-url'] ?? process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/$/, '');
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Stream {
  socket: Socket;
  firstByteAt: number;
  endedAt: number;
  bytes: number;
  status: number;
  text: string;
}

/** Opens one stream; resolves once its first body byte arrived (or it failed). */
function open(target: Target, req: Buffer, streams: Stream[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port, noDelay: true });
    const s: Stream = { socket, firstByteAt: 0, endedAt: 0, bytes: 0, status: 0, text: '' };
    streams.push(s);
    socket.on('data', (c: Buffer) => {
      s.bytes += c.length;
      if (!s.status) {
        s.text += c.toString('latin1');
        const m = /^HTTP\/1\.1 (\d+)/.exec(s.text);
        if (m) s.status = Number(m[1]);
      }
      if (!s.firstByteAt && s.text.includes('\r\n\r\n')) {
        s.firstByteAt = performance.now();
        resolve();
      }
      // After its terminal event the server ends the response: the last chunk of the chunked body.
      if (c.length >= 5 && c.subarray(c.length - 5).toString('latin1') === '0\r\n\r\n') s.endedAt ||= performance.now();
      if (s.text.length > 4096) s.text = s.text.slice(0, 4096);
    });
    socket.on('close', () => {
      s.endedAt ||= performance.now();
      resolve();
    });
    socket.on('error', () => resolve());
    socket.write(req);
  });
}

const name = `parley_bench_${randomBytes(5).toString('hex')}`;
const admin = new pg.Client({ connectionString: `${pgUrl}/postgres` });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const dir = mkdtempSync(join(tmpdir(), 'parley-streams-'));
const children: Child[] = [];
const streams: Stream[] = [];
let fake: FakeOpenAI | undefined;
try {
  const secret = randomBytes(32).toString('hex');
  const databaseUrl = `${pgUrl}/${name}`;
  const http = await startParley({ dataDir: join(dir, 'data'), databaseUrl, secret, worker: false, logFile: join(dir, 'parley.log') });
  children.push(http);
  const pid = http.proc.pid!;
  log(`HTTP node up (pid ${pid}), RSS ${rssMiB(pid).toFixed(0)} MiB; load ${loadavg()[0]!.toFixed(1)}`);
  const token = await signUserToken({ hsKey: new TextEncoder().encode(secret), issuer: 'parley', audience: 'parley' }, USER, 3600);
  const api = new Api(`http://127.0.0.1:${http.port}`, token);
  const convs: string[] = [];
  const t0 = performance.now();
  const CONVERSATIONS = RESPONSES ?? STREAMS;
  for (let i = 0; i < CONVERSATIONS; i += 100) convs.push(...(await Promise.all(Array.from({ length: Math.min(100, CONVERSATIONS - i) }, () => api.conversation()))));
  log(`${convs.length} conversations in ${((performance.now() - t0) / 1000).toFixed(1)} s; HTTP RSS ${rssMiB(pid).toFixed(0)} MiB`);
  // Fan-out: one question in each conversation (202; no worker runs yet), every stream following one of them.
  const asked: string[] = [];
  if (RESPONSES !== undefined) {
    for (const c of convs) {
      const r = await api.call('POST', `/conversations/${c}/responses`, { input: { text: QUESTION } });
      if (r.status !== 202) throw new Error(`create response: ${r.status} ${r.text}`);
      asked.push(r.json['response_id'] as string);
    }
    log(`${asked.length} questions asked; ${STREAMS} streams will follow them (${(STREAMS / asked.length).toFixed(0)} each)`);
  }

  const target: Target = { host: '127.0.0.1', port: http.port };
  const auth = { authorization: `Bearer ${token}`, 'assistant-name': ASSISTANT, accept: 'text/event-stream' };
  const body = JSON.stringify({ input: { text: QUESTION } });
  const t1 = performance.now();
  const requestOf = (i: number): Buffer =>
    RESPONSES === undefined
      ? requestBytes(target, 'POST', `${API}/conversations/${convs[i]}/responses/stream`, auth, body)
      : requestBytes(target, 'GET', `${API}/conversations/${convs[i % convs.length]}/responses/${asked[i % asked.length]}/stream`, auth);
  for (let i = 0; i < STREAMS; i += BURST) {
    await Promise.all(Array.from({ length: Math.min(BURST, STREAMS - i) }, (_, k) => open(target, requestOf(i + k), streams)));
  }
  const ok = streams.filter((s) => s.status === 200 && s.firstByteAt && !s.endedAt).length;
  const bad = streams.filter((s) => s.status !== 200);
  await new Promise((r) => setTimeout(r, 5000));
  const openRss = rssMiB(pid);
  log(`${ok} of ${STREAMS} streams open in ${((performance.now() - t1) / 1000).toFixed(1)} s (${bad.length} not 200${bad[0] ? `, e.g. ${bad[0].text.split('\r\n')[0]}` : ''}); HTTP RSS with all open, 5 s later: ${openRss.toFixed(0)} MiB`);

  let peak = openRss;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 100);
  const w0 = performance.now();
  if (values.engine === 'fake') fake = await startFakeOpenAI(Array.from({ length: STREAMS + 100 }, () => ({ type: 'text' as const, chunks: ['The answer.'] })));
  const engineEnv: Record<string, string> = fake ? { PARLEY_ENGINE: 'openai-compatible', LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake' } : {};
  if (values.concurrency) engineEnv['RESPONSE_CONCURRENCY'] = values.concurrency;
  if (values['worker-node-options']) engineEnv['NODE_OPTIONS'] = values['worker-node-options'];
  children.push(await startWorker({ dataDir: join(dir, 'data'), databaseUrl, secret, logFile: join(dir, 'worker.log'), env: engineEnv, profileDir: process.env['BENCH_WORKER_PROFILE'] }));
  const deadline = w0 + Number(values.wait) * 1000;
  while (streams.some((s) => !s.endedAt) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  clearInterval(sampler);
  const ends = streams.filter((s) => s.endedAt).map((s) => (s.endedAt - w0) / 1000).sort((a, b) => a - b);
  log(
    `worker started: ${ends.length} of ${STREAMS} streams ended; after the worker's start p50 ${percentile(ends, 50).toFixed(1)} s, ` +
      `p99 ${percentile(ends, 99).toFixed(1)} s, last ${ends.at(-1)?.toFixed(1)} s; HTTP RSS peak meanwhile ${peak.toFixed(0)} MiB; load ${loadavg()[0]!.toFixed(1)}`,
  );
} finally {
  for (const s of streams) s.socket.destroy();
  for (const c of children.reverse()) await c.stop();
  await fake?.close();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
