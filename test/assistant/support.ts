// Runs the offline engine over the knowledge fixtures and collects what it yields.
import type { AskingUser, EngineEvent, HistoryMessage } from '../../src/assistant/engine.ts';
import { createOfflineEngine } from '../../src/assistant/offline/index.ts';
import { createKnowledge } from '../../src/knowledge/knowledge.ts';
import type { SourceDocument } from '../../src/knowledge/sources.ts';
import type { Db } from '../../src/store/db.ts';
import { testDb, uniq } from '../support/db.ts';
import { ingestFixtures } from '../knowledge/support.ts';

export type MessageEvent = Extract<EngineEvent, { type: 'message' }>;

export interface Turn {
  events: EngineEvent[];
  reasoning: string[];
  snapshots: MessageEvent[];
  final: MessageEvent;
}

export const ENGINEER: AskingUser = { id: 'u-ada', email: 'ada.lovelace@example.test', emailVerified: true, name: 'Ada Lovelace', groups: [] };
export const HR_PERSON: AskingUser = { id: 'u-zoe', email: 'zoe.brennan@example.test', emailVerified: true, name: 'Zoë Brennan', groups: [] };

/**
 * A fresh assistant with the fixtures (or those `ingest` loads), and a function asking it questions (with optional
 * history).
 */
export async function fixtureAssistant(ingest: (db: Db, assistant: string) => Promise<unknown> = ingestFixtures) {
  const db = await testDb();
  const assistant = uniq('asst');
  await ingest(db, assistant);
  // People without a url in the fixtures are cited at this directory (as an assistant's `directoryUrl` would say).
  const knowledge = createKnowledge(db, { directoryBaseUrl: 'https://directory.acme.example/people/' });
  const engine = createOfflineEngine({ knowledge });
  async function ask(input: string, opts: { user?: AskingUser; history?: HistoryMessage[] } = {}): Promise<Turn> {
    const events: EngineEvent[] = [];
    for await (const e of engine.answer({
      user: opts.user ?? ENGINEER,
      assistant,
      conversationId: 'conv_test',
      responseId: 'resp_test',
      history: opts.history ?? [],
      input,
      signal: new AbortController().signal,
    })) events.push(e);
    const snapshots = events.filter((e): e is MessageEvent => e.type === 'message');
    const final = snapshots.at(-1);
    if (!final) throw new Error('no message');
    return { events, reasoning: events.flatMap((e) => (e.type === 'reasoning' ? [e.text] : [])), snapshots, final };
  }
  /** The history entries a finished exchange leaves (as the core would store them). */
  function exchange(question: string, turn: Turn): HistoryMessage[] {
    return [
      { actor: 'USER', text: question, citations: [] },
      { actor: 'ASSISTANT', text: turn.final.text, citations: turn.final.citations.map((c) => ({ url: c.url, title: c.title, attributes: c.attributes })) },
    ];
  }
  return { assistant, knowledge, engine, ask, exchange };
}

/** Checks the contract's citation rules on one message: code-point offsets, ascending, every citation referenced. */
export function citationProblems(m: MessageEvent): string[] {
  const problems: string[] = [];
  const len = Array.from(m.text).length;
  let prev = -1;
  for (const r of m.references) {
    if (!m.citations.some((c) => c.key === r.key)) problems.push(`reference to unknown ${r.key}`);
    if (r.offset < prev) problems.push(`offsets not ascending at ${r.offset}`);
    if (r.offset > len || r.offset < 0) problems.push(`offset ${r.offset} outside 0..${len}`);
    prev = r.offset;
  }
  for (const c of m.citations) if (!m.references.some((r) => r.key === c.key)) problems.push(`citation ${c.key} never referenced`);
  if (new Set(m.citations.map((c) => c.key)).size !== m.citations.length) problems.push('duplicate citations');
  return problems;
}

/** A public Markdown document under `base` (e.g. `https://kb.example.test`), for a test's own small corpus. */
export function markdownDoc(base: string): (path: string, title: string, body: string) => SourceDocument {
  return (path, title, body) => ({ path, format: 'markdown', title, url: `${base}/${path}`, updatedAt: null, access: ['*'], body });
}

/** The final message the offline engine gives an anonymous user (no groups) asking `input` in a fresh conversation. */
export async function finalAnswer(assistant: string, input: string): Promise<MessageEvent> {
  const engine = createOfflineEngine({ knowledge: createKnowledge(await testDb()) });
  let last: MessageEvent | undefined;
  for await (const e of engine.answer({ user: { id: 'u', groups: [] }, assistant, conversationId: 'c', responseId: 'r', history: [], input, signal: new AbortController().signal })) {
    if (e.type === 'message') last = e;
  }
  if (!last) throw new Error('no message');
  return last;
}
