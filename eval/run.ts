/**
 * `npm run eval`: runs every question of eval/questions.json through the offline engine, as the user it names
 * (groups from the demo directory), on the demo data, and writes eval/results.md.
 * `npm run eval -- --dataset <dir> [--engine offline|openai-compatible] [--out report.md] [--verbose] [--gate-open]`:
 * another company's set (see eval/dataset.ts), scored by that set's rules; `--gate-open` adds what the offline
 * answerer would get right with its confidence gate open (diagnosis).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLlmEngine } from '../src/assistant/llm/index.ts';
import { createOfflineEngine } from '../src/assistant/offline/index.ts';
import type { AskingUser, Engine, EngineEvent, HistoryMessage } from '../src/assistant/engine.ts';
import { principalsOf } from '../src/assistant/engine.ts';
import { loadConfig } from '../src/config.ts';
import { createKnowledge, loadDemoData, type ParleyKnowledge } from '../src/knowledge/index.ts';
import { openDatabase, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { datasetLayout, datasetReport, gateDiagnosis, gateReport, readQuestions, runDataset } from './dataset.ts';

export interface EvalQuestion {
  id: string;
  kind: 'people' | 'knowledge' | 'none' | 'permission';
  user: string;
  question: string;
  expect_facts: string[];
  expect_doc?: string;
  expect_person?: string;
  forbidden_docs?: string[];
}

export interface EvalOutcome {
  q: EvalQuestion;
  text: string;
  reasoning: string[];
  citations: { url: string; title: string; body: string }[];
  snapshots: number;
  factsFound: number;
  allFacts: boolean;
  top1: boolean | null;
  unsupported: string[];
  leaks: string[];
  ms: number;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));

type MessageEvent = Extract<EngineEvent, { type: 'message' }>;

function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Runs the evaluation; returns the outcomes and the markdown report. */
export async function runEval(opts: { db?: Db; questionsPath?: string } = {}): Promise<{ outcomes: EvalOutcome[]; report: string }> {
  const ownDb = !opts.db;
  const url = process.env['DATABASE_URL'];
  const db = opts.db ?? (await openDatabase({ url, dataDir: 'memory://' }));
  try {
    if (ownDb) await migrate(db);
    // A fixed name: document ids derive from it and ranking ties break by id (a random one made runs differ).
    const assistant = 'eval-demo';
    const load = await loadDemoData(db, assistant);
    if (!load) throw new Error('demo data not found (demo/knowledge)');
    const knowledge = createKnowledge(db);
    const engine = createOfflineEngine({ knowledge });
    const questions = JSON.parse(readFileSync(opts.questionsPath ?? HERE + 'questions.json', 'utf8')) as EvalQuestion[];

    // Every document's access list and title, to check leaks independently of the engine.
    const docs = await db.query<{ url: string; title: string; access: string[] }>('SELECT url, title, access FROM kb_documents WHERE assistant = $1', [assistant]);
    const outcomes: EvalOutcome[] = [];
    for (const q of questions) {
      const person = await knowledge.getPersonByEmail(assistant, q.user);
      const user: AskingUser = { id: q.user, email: q.user, emailVerified: true, name: person?.name, groups: person?.groups ?? [] };
      const principals = new Set(principalsOf(user));
      const t0 = performance.now();
      const events: EngineEvent[] = [];
      const history: HistoryMessage[] = [];
      for await (const e of engine.answer({
        user,
        assistant,
        conversationId: 'conv_eval',
        responseId: 'resp_eval',
        history,
        input: q.question,
        signal: new AbortController().signal,
      })) events.push(e);
      const ms = performance.now() - t0;
      const snaps = events.filter((e): e is MessageEvent => e.type === 'message');
      const final = snaps[snaps.length - 1];
      const text = final?.text ?? '';
      const reasoning = events.flatMap((e) => (e.type === 'reasoning' ? [e.text] : []));
      const citations = final?.citations ?? [];
      const facts = q.expect_facts.filter((f) => fold(text).includes(fold(f)));

      // Leaks: any citation, quote or title of a document the user may not see, in any event.
      const leaks: string[] = [];
      const hidden = docs.filter((d) => !d.access.some((a) => principals.has(a)));
      const forbidden = new Set([...(q.forbidden_docs ?? []), ...hidden.map((d) => d.url)]);
      for (const s of snaps) for (const c of s.citations) if (forbidden.has(c.url)) leaks.push(`cited ${c.url}`);
      const everything = fold([...reasoning, ...snaps.map((s) => s.text)].join('\n'));
      for (const d of hidden) if (everything.includes(fold(d.title))) leaks.push(`named "${d.title}"`);

      // Unsupported: a quoted knowledge sentence that is not in the passage it cites.
      const unsupported: string[] = [];
      if (final) {
        for (const r of final.references) {
          const c = final.citations.find((x) => x.key === r.key);
          if (!c || !c.key.startsWith('doc:')) continue;
          const before = Array.from(final.text).slice(0, r.offset).join('');
          const sentence = before.split(/\n|(?<=[.!?])\s+/).pop()?.replace(/^[-*]\s+|^\d+\.\s+/, '').trim() ?? '';
          if (sentence && !c.body.includes(sentence)) unsupported.push(sentence);
        }
      }
      let top1: boolean | null = null;
      if (q.kind === 'knowledge' && q.expect_doc) top1 = citations[0]?.url === q.expect_doc;
      if (q.kind === 'people' && q.expect_person) {
        const cited = final?.citations[0]?.attributes.find((a) => a.key === 'EMAIL')?.value;
        top1 = cited === q.expect_person;
      }
      outcomes.push({
        q,
        text,
        reasoning,
        citations: citations.map((c) => ({ url: c.url, title: c.title, body: c.body })),
        snapshots: snaps.length,
        factsFound: facts.length,
        allFacts: facts.length === q.expect_facts.length,
        top1,
        unsupported,
        leaks,
        ms,
      });
    }
    if (url) {
      await db.query('DELETE FROM kb_documents WHERE assistant = $1', [assistant]);
      await db.query('DELETE FROM kb_people WHERE assistant = $1', [assistant]);
      await db.query('DELETE FROM kb_terms WHERE assistant = $1', [assistant]);
      await db.query('DELETE FROM kb_state WHERE assistant = $1', [assistant]);
    }
    return { outcomes, report: report(outcomes, db.kind) };
  } finally {
    if (ownDb) await db.close();
  }
}

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : 'n/a');

function summarize(outcomes: EvalOutcome[]) {
  const of = (k: EvalQuestion['kind']) => outcomes.filter((o) => o.q.kind === k);
  const people = of('people');
  const knowledge = of('knowledge');
  const none = of('none');
  const permission = of('permission');
  const factTotal = knowledge.reduce((n, o) => n + o.q.expect_facts.length, 0);
  const factFound = knowledge.reduce((n, o) => n + o.factsFound, 0);
  // Wrong or unsupported: a cited answer whose expected facts are missing, a quote not in its source, or any
  // citation on a question that has no answer in the data.
  const wrong = outcomes.filter(
    (o) => o.unsupported.length > 0 || (o.citations.length > 0 && (!o.allFacts || o.q.kind === 'none' || o.q.kind === 'permission')),
  );
  const times = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  return {
    people: { ok: people.filter((o) => o.allFacts).length, n: people.length },
    knowledgeTop1: { ok: knowledge.filter((o) => o.top1).length, n: knowledge.length },
    knowledgeAll: { ok: knowledge.filter((o) => o.allFacts).length, n: knowledge.length },
    factRecall: { ok: factFound, n: factTotal },
    none: { ok: none.filter((o) => o.citations.length === 0).length, n: none.length },
    permission: { ok: permission.filter((o) => o.citations.length === 0 && o.leaks.length === 0).length, n: permission.length },
    wrong: { ok: wrong.length, n: outcomes.length },
    leaks: outcomes.reduce((n, o) => n + o.leaks.length, 0),
    p50: times[Math.floor(times.length * 0.5)] ?? 0,
    p95: times[Math.floor(times.length * 0.95)] ?? 0,
  };
}

function report(outcomes: EvalOutcome[], dbKind: string): string {
  const s = summarize(outcomes);
  const lines = [
    '# Offline engine evaluation',
    '',
    `Run by \`npm run eval\` on ${new Date().toISOString().slice(0, 10)}: ${outcomes.length} questions from eval/questions.json, demo data, offline engine, ${dbKind} database, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}.`,
    '',
    '| metric | result | target |',
    '|---|---|---|',
    `| people accuracy (all expected facts in the answer) | ${s.people.ok}/${s.people.n} = ${pct(s.people.ok, s.people.n)} | ≥ 95% |`,
    `| knowledge top-1 citation precision (first citation is the expected document) | ${s.knowledgeTop1.ok}/${s.knowledgeTop1.n} = ${pct(s.knowledgeTop1.ok, s.knowledgeTop1.n)} | ≥ 85% |`,
    `| knowledge fact recall (expected facts found in answers) | ${s.factRecall.ok}/${s.factRecall.n} = ${pct(s.factRecall.ok, s.factRecall.n)} | — |`,
    `| knowledge answers with every expected fact | ${s.knowledgeAll.ok}/${s.knowledgeAll.n} = ${pct(s.knowledgeAll.ok, s.knowledgeAll.n)} | — |`,
    `| "none" honesty (no citations when the data has no answer) | ${s.none.ok}/${s.none.n} = ${pct(s.none.ok, s.none.n)} | 100% |`,
    `| permission questions answered without citing, quoting or naming the restricted document | ${s.permission.ok}/${s.permission.n} = ${pct(s.permission.ok, s.permission.n)} | 100% |`,
    `| wrong or unsupported claims (cited answer missing its facts, quote not in its source, or citation where there is no answer) | ${s.wrong.ok}/${s.wrong.n} = ${pct(s.wrong.ok, s.wrong.n)} | — |`,
    `| citations/mentions of documents the user may not see (all snapshots and reasoning) | ${s.leaks} | 0 |`,
    `| answer time p50 / p95 | ${s.p50.toFixed(1)} ms / ${s.p95.toFixed(1)} ms | — |`,
    '',
  ];
  const misses = outcomes.filter((o) => !o.allFacts || o.top1 === false || o.unsupported.length || o.leaks.length || ((o.q.kind === 'none' || o.q.kind === 'permission') && o.citations.length));
  lines.push('## Misses', '');
  if (!misses.length) lines.push('None.');
  for (const o of misses) {
    const why = [
      !o.allFacts && `missing ${o.q.expect_facts.filter((f) => !fold(o.text).includes(fold(f))).map((f) => JSON.stringify(f)).join(', ')}`,
      o.top1 === false && `first citation ${o.citations[0]?.url ?? '(none)'}${o.q.expect_doc ? ` instead of ${o.q.expect_doc}` : ''}`,
      o.unsupported.length && `unsupported: ${o.unsupported.map((u) => JSON.stringify(u)).join('; ')}`,
      o.leaks.length && `LEAK: ${o.leaks.join('; ')}`,
      (o.q.kind === 'none' || o.q.kind === 'permission') && o.citations.length && `cited ${o.citations.map((c) => c.url).join(', ')}`,
    ].filter(Boolean);
    lines.push(`- **${o.q.id}** (${o.q.kind}) “${o.q.question}”: ${why.join('; ')}`);
    lines.push(`  - answer: ${JSON.stringify(o.text.slice(0, 300))}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Hand-written sections of results.md (from the KEEP marker on), carried over when the report is regenerated. */
export const KEEP_MARKER = '<!-- kept: hand-written sections below survive `npm run eval` -->';
function keptSections(path: string): string {
  let old = '';
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    return '';
  }
  const at = old.indexOf(KEEP_MARKER);
  return at < 0 ? '' : '\n' + old.slice(at);
}

/** `--name value` or `--name=value` from argv. */
function flag(args: readonly string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(name + '='));
  if (i < 0) return undefined;
  const a = args[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
}

/**
 * `--dataset <dir>`: another company's set, scored by its own rules; the report goes to stdout (and `--out`).
 * `--engine openai-compatible` answers with the configured model (LLM_BASE_URL, LLM_MODEL, …; embeddings too).
 */
async function runDatasetCli(args: readonly string[]): Promise<number> {
  const dir = flag(args, '--dataset')!;
  const engineKind = flag(args, '--engine') ?? 'offline';
  if (engineKind !== 'offline' && engineKind !== 'openai-compatible') throw new Error(`--engine must be offline or openai-compatible, not ${engineKind}`);
  const cfg = loadConfig(process.env, engineKind === 'openai-compatible' ? { engine: { kind: engineKind, ...baseEngine() } } : {});
  const url = process.env['DATABASE_URL'];
  const db = await openDatabase({ url, dataDir: 'memory://', vector: Boolean(cfg.embeddings) });
  try {
    await migrate(db);
    // Embedding failures (endpoint down, malformed vectors) are reported, never fatal: full text still answers.
    const knowledge = createKnowledge(db, { embeddings: cfg.embeddings, log: (m) => console.error(`warning: ${m}`) });
    const makeEngine = (k: ParleyKnowledge): Engine =>
      engineKind === 'offline'
        ? createOfflineEngine({ knowledge: k })
        : createLlmEngine({
            baseUrl: cfg.engine.baseUrl!,
            model: cfg.engine.model!,
            apiKey: cfg.engine.apiKey,
            knowledge: k,
            timeoutMs: cfg.engine.timeoutMs,
            maxToolRounds: cfg.engine.maxToolRounds,
            maxSearches: cfg.engine.maxSearches,
          });
    const { outcomes, errors, assistant } = await runDataset(db, dir, makeEngine, knowledge);
    const engineName =
      (engineKind === 'offline' ? 'offline' : `openai-compatible (${cfg.engine.model})`) +
      (cfg.embeddings ? ` + embeddings (${cfg.embeddings.model}, ${db.hasVector ? 'pgvector' : 'plain column'})` : '');
    let md = datasetReport(outcomes, { dataset: basename(resolve(dir)), engine: engineName, db: db.kind, errors });
    // `--gate-open`: the offline answerer with every question answered (diagnosis: what the gate withholds).
    if (args.includes('--gate-open')) md = md.replace('\n## Misses', `\n${gateReport(await gateDiagnosis(knowledge, assistant, readQuestions(datasetLayout(dir).questions)))}\n## Misses`);
    const out = flag(args, '--out');
    if (out) writeFileSync(out, md);
    console.log(args.includes('--verbose') || out ? md : md.split('\n## Misses')[0]);
    if (url) for (const t of ['kb_documents', 'kb_people', 'kb_terms', 'kb_state', 'kb_vector_state']) await db.query(`DELETE FROM ${t} WHERE assistant = $1`, [assistant]);
    return 0;
  } finally {
    await db.close();
  }
}

/** The engine section as configured (file or environment), to which `--engine` only sets the kind. */
function baseEngine(): Record<string, unknown> {
  const cfg = loadConfig(process.env);
  const { kind: _kind, ...rest } = cfg.engine;
  return rest;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  if (flag(args, '--dataset')) {
    process.exitCode = await runDatasetCli(args).catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      return 2;
    });
  } else {
    const { outcomes, report: md } = await runEval();
    writeFileSync(HERE + 'results.md', md + keptSections(HERE + 'results.md'));
    const s = summarize(outcomes);
    console.log(md.split('\n## Misses')[0]);
    const failed = s.leaks > 0 || s.people.ok / s.people.n < 0.95 || s.knowledgeTop1.ok / s.knowledgeTop1.n < 0.85;
    if (args.includes('--verbose')) for (const o of outcomes) console.log(`\n[${o.q.id}] ${o.q.question}\n${o.text}`);
    process.exitCode = failed ? 1 : 0;
  }
}
