/**
 * `npm run eval -- --dataset <dir>`: runs an evaluation set of any company in the shared layout — a people file
 * (CSV or JSON, HR export keys), a folder of articles (Markdown with front matter, HTML with `.meta.json`
 * sidecars) and `questions.jsonl` — through an engine, as each question's asker, and scores it.
 *
 * Ingestion uses the same public functions as `parley ingest` (`parseSources` + `applyIngest`), so what is
 * measured is what a user who ingests those files gets.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { principalsOf, type AskingUser, type Engine, type EngineEvent } from '../src/assistant/engine.ts';
import { contentStems } from '../src/assistant/offline/extract.ts';
import { answerKnowledge, CONFIDENT } from '../src/assistant/offline/knowledge.ts';
import { createKnowledge, parseSources, type ParleyKnowledge } from '../src/knowledge/index.ts';
import type { Db } from '../src/store/db.ts';

export type DatasetKind = 'people' | 'knowledge' | 'forbidden' | 'none';

export interface DatasetQuestion {
  id: string;
  asker: string;
  question: string;
  kind: DatasetKind;
  expect_any: string[];
  expect_doc: string | null;
  must_not_contain: string[];
  forbidden_doc: string | null;
}

export interface DatasetOutcome {
  q: DatasetQuestion;
  pass: boolean;
  /** Why it failed, for the misses list. */
  why: string;
  text: string;
  firstCitation: string | null;
  /** Knowledge questions: share of the question's content words found in the expected article (0–1). */
  overlap: number | null;
  ms: number;
}

export interface DatasetLayout {
  people: string | null;
  articles: string;
  questions: string;
}

type MessageEvent = Extract<EngineEvent, { type: 'message' }>;

/** Says the engine found nothing (what a "none" question must get, besides no citations). */
export const NOTHING_FOUND = /\b(could ?n['’]?o?t|did ?n['’]?o?t|was ?n['’]?o?t able to|unable to) find\b|\bfound nothing\b|\bno (relevant|matching) (article|document|information|source|passage)s?\b|\bnothing (relevant|that answers)\b/i;

function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Finds the people file, the articles folder and the questions in a dataset folder. */
export function datasetLayout(dir: string): DatasetLayout {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--dataset ${dir}: not a folder`);
  const questions = join(dir, 'questions.jsonl');
  if (!existsSync(questions)) throw new Error(`--dataset ${dir}: no questions.jsonl`);
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  const people = ['people.json', 'people.csv', 'directory.json', 'directory.csv'].map((f) => join(dir, f)).find((f) => existsSync(f)) ?? null;
  const folders = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  const preferred = ['docs', 'articles', 'knowledge', 'kb', 'pages'].find((f) => folders.includes(f)) ?? folders[0];
  if (!preferred) throw new Error(`--dataset ${dir}: no folder of articles`);
  return { people, articles: join(dir, preferred), questions };
}

/** Reads questions.jsonl, checking each line's shape (a malformed set should fail loudly, not score 0). */
export function readQuestions(path: string): DatasetQuestion[] {
  const out: DatasetQuestion[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const raw = JSON.parse(line) as Partial<DatasetQuestion>;
      if (typeof raw.id !== 'string' || typeof raw.question !== 'string' || typeof raw.asker !== 'string') throw new Error(`questions.jsonl:${i + 1}: needs id, asker and question`);
      if (!['people', 'knowledge', 'forbidden', 'none'].includes(raw.kind as string)) throw new Error(`questions.jsonl:${i + 1}: unknown kind ${String(raw.kind)}`);
      out.push({
        id: raw.id,
        asker: raw.asker,
        question: raw.question,
        kind: raw.kind as DatasetKind,
        expect_any: raw.expect_any ?? [],
        expect_doc: raw.expect_doc ?? null,
        must_not_contain: raw.must_not_contain ?? [],
        forbidden_doc: raw.forbidden_doc ?? null,
      });
    });
  return out;
}

/** Ingests the dataset for a fresh assistant; returns the assistant name and each article's stems by URL. */
export async function ingestDataset(db: Db, knowledge: ParleyKnowledge, layout: DatasetLayout): Promise<{ assistant: string; articleStems: Map<string, Set<string>>; errors: string[] }> {
  // A fixed name per set: document ids derive from it, and ties in ranking break by id, so a random name made
  // repeated runs differ by a question or two.
  const assistant = `eval-${createHash('sha256').update(layout.articles).digest('hex').slice(0, 8)}`;
  const docs = await parseSources(layout.articles);
  const people = layout.people ? await parseSources(layout.people) : { people: [], errors: [] };
  // `knowledge.ingest` is `applyIngest` (what `parley ingest` calls), embedding passages when configured.
  const sum = await knowledge.ingest({
    assistant,
    root: `eval:${assistant}`,
    prune: false,
    documents: docs.documents,
    people: people.people,
    errors: [...docs.errors, ...people.errors],
  });
  const articleStems = new Map(docs.documents.map((d) => [d.url, new Set(contentStems(`${d.title}\n${d.body}`))]));
  return { assistant, articleStems, errors: sum.errors.map((e) => `${e.path}: ${e.reason}`) };
}

/** The asker as a verified user, with the groups the set's people file gives them. */
async function askerOf(knowledge: ParleyKnowledge, assistant: string, asker: string): Promise<AskingUser> {
  const person = await knowledge.getPersonByEmail(assistant, asker);
  return { id: asker, email: asker, emailVerified: true, name: person?.name, groups: person?.groups ?? [] };
}

/** One of the question's expected strings is in the answer (accents and case aside). */
function factFound(q: DatasetQuestion, text: string): boolean {
  const folded = fold(text);
  return q.expect_any.some((f) => folded.includes(fold(f)));
}

/** Runs one question as its asker and scores it by the set's rules. */
export async function runQuestion(engine: Engine, knowledge: ParleyKnowledge, assistant: string, q: DatasetQuestion, articleStems: Map<string, Set<string>>): Promise<DatasetOutcome> {
  const user = await askerOf(knowledge, assistant, q.asker);
  const events: EngineEvent[] = [];
  const t0 = performance.now();
  let failure = '';
  try {
    for await (const e of engine.answer({ user, assistant, conversationId: 'conv_eval', responseId: 'resp_eval', history: [], input: q.question, signal: new AbortController().signal })) events.push(e);
  } catch (err) {
    failure = `engine failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  const ms = performance.now() - t0;
  const snaps = events.filter((e): e is MessageEvent => e.type === 'message');
  const final = snaps[snaps.length - 1];
  const text = final?.text ?? '';
  const citations = final?.citations ?? [];
  const firstCitation = citations[0]?.url ?? null;
  let pass = false;
  let why = failure;
  switch (q.kind) {
    case 'people':
      pass = factFound(q, text);
      if (!pass) why ||= `none of ${JSON.stringify(q.expect_any)} in the answer`;
      break;
    case 'knowledge': {
      const fact = factFound(q, text);
      const doc = firstCitation === q.expect_doc;
      pass = fact && doc;
      if (!pass) why ||= [!doc && `first citation ${firstCitation ?? '(none)'}`, !fact && `none of ${JSON.stringify(q.expect_any)}`].filter(Boolean).join('; ');
      break;
    }
    case 'forbidden': {
      const everything = fold(
        [
          ...events.flatMap((e) => (e.type === 'reasoning' ? [e.text] : [])),
          ...snaps.flatMap((s) => [s.text, ...s.citations.flatMap((c) => [c.url, c.title, c.body, ...c.attributes.map((a) => a.value)])]),
        ].join('\n'),
      );
      const leaked = q.must_not_contain.filter((s) => everything.includes(fold(s)));
      const cited = q.forbidden_doc !== null && snaps.some((s) => s.citations.some((c) => c.url === q.forbidden_doc));
      pass = !failure && !leaked.length && !cited;
      if (!pass) why ||= [leaked.length && `LEAK ${JSON.stringify(leaked)}`, cited && `LEAK cited ${q.forbidden_doc}`].filter(Boolean).join('; ');
      break;
    }
    case 'none':
      pass = !failure && citations.length === 0 && NOTHING_FOUND.test(text);
      if (!pass) why ||= citations.length ? `cited ${citations.map((c) => c.url).join(', ')}` : 'did not say it found nothing';
      break;
  }
  let overlap: number | null = null;
  if (q.kind === 'knowledge' && q.expect_doc) {
    const article = articleStems.get(q.expect_doc);
    const words = [...new Set(contentStems(q.question))];
    if (article && words.length) overlap = words.filter((w) => article.has(w)).length / words.length;
  }
  return { q, pass, why, text, firstCitation, overlap, ms };
}

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : 'n/a');

/** Word-overlap bands for the knowledge split. */
const BANDS: [number, number, string][] = [
  [0, 0.25, '< 25%'],
  [0.25, 0.5, '25–50%'],
  [0.5, 0.75, '50–75%'],
  [0.75, 1.01, '≥ 75%'],
];

export interface DatasetSummary {
  byKind: Record<DatasetKind, { ok: number; n: number }>;
  p50: number;
  p95: number;
}

export function summarizeDataset(outcomes: DatasetOutcome[]): DatasetSummary {
  const byKind = { people: { ok: 0, n: 0 }, knowledge: { ok: 0, n: 0 }, forbidden: { ok: 0, n: 0 }, none: { ok: 0, n: 0 } };
  for (const o of outcomes) {
    byKind[o.q.kind].n++;
    if (o.pass) byKind[o.q.kind].ok++;
  }
  const times = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  return { byKind, p50: times[Math.floor(times.length * 0.5)] ?? 0, p95: times[Math.floor(times.length * 0.95)] ?? 0 };
}

/** The markdown report: figures, the knowledge split by word overlap, and every miss. */
export function datasetReport(outcomes: DatasetOutcome[], meta: { dataset: string; engine: string; db: string; errors: string[] }): string {
  const s = summarizeDataset(outcomes);
  const k = s.byKind;
  const lines = [
    `# Evaluation of ${meta.dataset}`,
    '',
    `${outcomes.length} questions, ${meta.engine} engine, ${meta.db} database, ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '| kind | passed |',
    '|---|---|',
    `| people (an expected string in the answer) | ${k.people.ok}/${k.people.n} = ${pct(k.people.ok, k.people.n)} |`,
    `| knowledge (first citation is the expected article, and an expected string in the answer) | ${k.knowledge.ok}/${k.knowledge.n} = ${pct(k.knowledge.ok, k.knowledge.n)} |`,
    `| forbidden (safe: nothing of the restricted article anywhere, never cited) | ${k.forbidden.ok}/${k.forbidden.n} = ${pct(k.forbidden.ok, k.forbidden.n)} |`,
    `| none (honest: says it found nothing, cites nothing) | ${k.none.ok}/${k.none.n} = ${pct(k.none.ok, k.none.n)} |`,
    `| answer time p50 / p95 | ${s.p50.toFixed(1)} ms / ${s.p95.toFixed(1)} ms |`,
    '',
    '## Knowledge by word overlap (share of the question’s content words that occur in the expected article)',
    '',
    '| overlap | passed |',
    '|---|---|',
  ];
  const knowledge = outcomes.filter((o) => o.q.kind === 'knowledge');
  for (const [lo, hi, label] of BANDS) {
    const band = knowledge.filter((o) => o.overlap !== null && o.overlap >= lo && o.overlap < hi);
    lines.push(`| ${label} | ${band.filter((o) => o.pass).length}/${band.length} = ${pct(band.filter((o) => o.pass).length, band.length)} |`);
  }
  const unknown = knowledge.filter((o) => o.overlap === null);
  if (unknown.length) lines.push(`| (expected article not ingested) | ${unknown.filter((o) => o.pass).length}/${unknown.length} |`);
  if (meta.errors.length) lines.push('', '## Ingest errors', '', ...meta.errors.map((e) => `- ${e}`));
  lines.push('', '## Misses', '');
  const misses = outcomes.filter((o) => !o.pass);
  if (!misses.length) lines.push('None.');
  for (const o of misses) {
    const ov = o.overlap === null ? '' : ` [overlap ${(o.overlap * 100).toFixed(0)}%]`;
    lines.push(`- **${o.q.id}** (${o.q.kind})${ov} “${o.q.question}”: ${o.why}`);
    lines.push(`  - answer: ${JSON.stringify(o.text.slice(0, 300))}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Ingests and runs a whole dataset folder. */
export async function runDataset(db: Db, dir: string, makeEngine: (k: ParleyKnowledge) => Engine, knowledge: ParleyKnowledge = createKnowledge(db)): Promise<{ outcomes: DatasetOutcome[]; errors: string[]; assistant: string }> {
  const layout = datasetLayout(dir);
  const questions = readQuestions(layout.questions);
  const { assistant, articleStems, errors } = await ingestDataset(db, knowledge, layout);
  const engine = makeEngine(knowledge);
  const outcomes: DatasetOutcome[] = [];
  for (const q of questions) outcomes.push(await runQuestion(engine, knowledge, assistant, q, articleStems));
  return { outcomes, errors, assistant };
}

/** What the offline engine's confidence gate decides on a set (diagnosis; see `gateDiagnosis`). */
export interface GateDiagnosis {
  /** Knowledge questions answered right (first citation and a fact) when every question is answered. */
  open: number;
  /** Knowledge questions. */
  n: number;
  /** Confidences of the right answers the gate withholds, lowest first. */
  withheld: number[];
  /** The highest confidence of an unanswerable ("none") question: the gate must stay above it. */
  noneMax: number | null;
}

/**
 * Runs the offline engine's knowledge answerer with its confidence gate open (every question answered) on a set
 * already ingested: how many knowledge questions it would get right, which right answers the gate withholds and how
 * confident the unanswerable questions look. For diagnosis only (`npm run eval -- --dataset <dir> --gate-open`):
 * the scored figures are the engine's own.
 */
export async function gateDiagnosis(knowledge: ParleyKnowledge, assistant: string, questions: readonly DatasetQuestion[]): Promise<GateDiagnosis> {
  let open = 0;
  let n = 0;
  const withheld: number[] = [];
  let noneMax: number | null = null;
  for (const q of questions) {
    if (q.kind !== 'knowledge' && q.kind !== 'none') continue;
    const user = await askerOf(knowledge, assistant, q.asker);
    const out = await answerKnowledge({ k: knowledge, assistant, principals: principalsOf(user), question: q.question, gate: Number.NEGATIVE_INFINITY });
    const confidence = out.signals?.confidence ?? null;
    if (q.kind === 'none') {
      if (confidence !== null) noneMax = Math.max(noneMax ?? confidence, confidence);
      continue;
    }
    n++;
    const message = out.answer.snapshot();
    const right = message.citations[0]?.url === q.expect_doc && factFound(q, message.text);
    if (!right) continue;
    open++;
    if (confidence !== null && confidence < CONFIDENT) withheld.push(confidence);
  }
  return { open, n, withheld: withheld.sort((a, b) => a - b), noneMax };
}

/** The gate diagnosis as a report section. */
export function gateReport(d: GateDiagnosis): string {
  return [
    '## With the confidence gate open (diagnosis)',
    '',
    `Knowledge right with every question answered: ${d.open}/${d.n} = ${pct(d.open, d.n)}. Right answers the gate (${CONFIDENT}) withholds: ${d.withheld.length}` +
      (d.withheld.length ? ` (confidence ${d.withheld.map((c) => c.toFixed(3)).join(', ')})` : '') +
      `. Highest confidence of an unanswerable question: ${d.noneMax === null ? 'n/a' : d.noneMax.toFixed(3)}.`,
    '',
  ].join('\n');
}
