/**
 * The offline engine: answers from the directory and the knowledge base with no model and no network. Routing is
 * by wording, answers are templated (people) or extractive (knowledge), and every claim carries its citation.
 */
import { yieldToEventLoop, type Engine, type EngineEvent, type EngineRequest, type HistoryMessage } from '../engine.ts';
import { resolvePrincipals } from '../../knowledge/principals.ts';
import { boundedQuestion } from './bounded-question.ts';
import { AnswerBuilder } from './compose.ts';
import type { OfflineKnowledge } from './directory-cite.ts';
import { answerKnowledge } from './knowledge.ts';
import { answerClarified, answerElliptical, answerPeople, type PeopleOutcome } from './people.ts';
import { nameSpans, peopleCueOf, smallTalkOf, withoutGreeting, type SmallTalk } from './router.ts';

export interface OfflineEngineOptions {
  knowledge: OfflineKnowledge;
  /** Snapshots per answer (default 8): the answer streams in about this many growing steps. */
  maxSnapshots?: number;
}

/** Creates the built-in engine (the default when no language model is configured). */
export function createOfflineEngine(opts: OfflineEngineOptions): Engine {
  return {
    name: 'offline',
    answer: (req) => answer(opts, req),
  };
}

/**
 * Answers from a bounded view of the question and of earlier questions (see bounded-question.ts), so routing and
 * extraction cost the same whatever was pasted, and hands the event loop back between stages so health checks and
 * other requests are served while a node answers (with the embedded database, a query does not yield by itself).
 */
async function* answer(opts: OfflineEngineOptions, req: EngineRequest): AsyncGenerator<EngineEvent> {
  const k = opts.knowledge;
  const input = withoutGreeting(boundedQuestion(req.input));
  const history: HistoryMessage[] = req.history.map((m) => (m.actor === 'USER' ? { ...m, text: boundedQuestion(m.text) } : m));
  const ctx = { k, assistant: req.assistant, history };
  const bounded: EngineRequest = { ...req, input, history };
  let reasoning: string[] = [];
  let built: AnswerBuilder;

  const talk = smallTalkOf(input);
  await yieldToEventLoop();
  if (talk) {
    built = smallTalk(talk);
  } else {
    // People questions are short; a long paste goes straight to the knowledge base (and keeps name matching cheap).
    const cue = input.length <= 300 ? peopleCueOf(input) : null;
    // A reply to "which one do you mean?" first, then a people question, then a bare name after a people answer.
    let people: PeopleOutcome | null = input.length <= 300 ? await answerClarified(ctx, input) : null;
    if (!people && cue) people = await answerPeople(ctx, input, cue);
    if (!people && !cue && input.length <= 300 && followsPeopleAnswer(bounded) && input.split(/\s+/).length <= 8) people = await answerElliptical(ctx, input);
    await yieldToEventLoop();
    throwIfAborted(req.signal);
    if (people) {
      reasoning = people.reasoning;
      built = people.answer;
    } else {
      const principals = await resolvePrincipals(k, req.assistant, req.user);
      const notAPerson = cue?.strong ? nameSpans(input).find((s) => s.whole)?.text : undefined;
      await yieldToEventLoop();
      const out = await answerKnowledge({ k, assistant: req.assistant, principals, question: input, alsoSearched: notAPerson });
      reasoning = out.reasoning;
      built = out.answer;
    }
  }
  for (const text of reasoning) {
    throwIfAborted(req.signal);
    yield { type: 'reasoning', text };
  }
  // The worker gives the loop a turn between outputs, whatever the engine: no second yield per snapshot here.
  for (const snap of built.snapshots(opts.maxSnapshots ?? 8)) {
    throwIfAborted(req.signal);
    yield snap;
  }
}

/** The previous assistant message cited directory entries (so a bare name can reuse the last question's intent). */
function followsPeopleAnswer(req: EngineRequest): boolean {
  const last = [...req.history].reverse().find((m) => m.actor === 'ASSISTANT');
  return Boolean(last?.citations.some((c) => c.attributes.some((a) => a.key === 'EMAIL')));
}

function smallTalk(kind: SmallTalk): AnswerBuilder {
  const a = new AnswerBuilder();
  switch (kind) {
    case 'greeting':
      a.add('Hi! I can look people up in the company directory and find answers in the knowledge base.');
      a.add('Ask me something like “Who does Maya Chen report to?” or “How do I reset my VPN password?”');
      break;
    case 'thanks':
      a.add("You're welcome! Ask me anything else about people or company policies.");
      break;
    case 'bye':
      a.add('Goodbye! Come back any time.');
      break;
    case 'help':
      a.add('I answer two kinds of questions:');
      a.item('- **People**: who someone reports to, who reports to them, their email, phone, title, department or location, and who leads a department.', [], true);
      a.item('- **Policies and how-tos**: I search the knowledge base articles you have access to and quote the relevant passages, with links to the sources.');
      a.paragraph('Try “What is Maya Chen’s email?” or “How many PTO days do I get?”');
      break;
  }
  return a;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
