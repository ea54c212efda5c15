/**
 * The language-model engine: any OpenAI-compatible chat-completions endpoint (hosted APIs, vLLM, Ollama,
 * llama.cpp, LM Studio) answers with tool calls into the knowledge layer, and Parley turns the model's
 * [n] markers into citations with code-point offsets.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { stepCountIs, streamText, type TextStreamPart, type ToolSet } from 'ai';
import type { Knowledge } from '../../knowledge/types.ts';
import { withDirectoryGroups } from '../../knowledge/principals.ts';
import { EngineError, principalsOf, type Engine, type EngineEvent, type EngineRequest } from '../engine.ts';
import { codePointLength } from '../text.ts';
import { invalidToolCall, toEngineError } from './errors.ts';
import { stripMarkers } from './markers.ts';
import { conversationMessages, systemPrompt } from './prompt.ts';
import { SourceRegistry } from './sources.ts';
import { buildTools, reasoningFor } from './tools.ts';

export interface LlmEngineOptions {
  /** Base URL of the OpenAI-compatible API, including its version path, e.g. `http://localhost:11434/v1`. */
  baseUrl: string;
  model: string;
  apiKey?: string | undefined;
  knowledge: Knowledge;
  /** Whole-answer budget, tool calls included; a stalled stream is cut off by it. Default 60 000. */
  timeoutMs?: number | undefined;
  /**
   * Rounds in which the model may call tools (each round may hold several calls, run in parallel); one more model
   * call then has to answer, with tools off. Default 4.
   */
  maxToolRounds?: number | undefined;
  /** Knowledge searches and directory lookups per answer, over all rounds; past it a tool says so. Default 8. */
  maxSearches?: number | undefined;
  /** Older spelling: model calls per answer (tool rounds + the answer), i.e. `maxToolRounds + 1`. */
  maxSteps?: number | undefined;
  temperature?: number | undefined;
  /** Injectable fetch (tests, proxies). */
  fetch?: typeof fetch | undefined;
  /** Minimum time between two streamed snapshots, unless a sentence just ended. Default 50. */
  snapshotIntervalMs?: number | undefined;
  /** Clock for the date in the system prompt. */
  now?: (() => Date) | undefined;
}

const SENTENCE_CLOSERS = new Set([...'.!?:;…。！？\n']);

/**
 * Whether `text` ends a sentence: its last non-whitespace character closes one, or a newline is in its trailing
 * whitespace. Read backwards over the trailing whitespace only (a regex `[…\n]\s*$` is quadratic on newlines).
 */
function endsSentence(text: string): boolean {
  let k = text.length - 1;
  while (k >= 0 && /\s/.test(text[k] as string)) {
    if (text[k] === '\n') return true;
    k--;
  }
  return k >= 0 && SENTENCE_CLOSERS.has(text[k] as string);
}

/** Creates the engine that answers through an OpenAI-compatible language model. */
export function createLlmEngine(opts: LlmEngineOptions): Engine {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxSteps = Math.max(1, opts.maxToolRounds !== undefined ? opts.maxToolRounds + 1 : (opts.maxSteps ?? 5));
  const maxSearches = Math.max(1, opts.maxSearches ?? 8);
  const interval = opts.snapshotIntervalMs ?? 50;
  const now = opts.now ?? (() => new Date());
  const provider = createOpenAICompatible({
    name: 'parley-llm',
    baseURL: opts.baseUrl.replace(/\/+$/, ''),
    ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    includeUsage: true,
  });
  const model = provider.chatModel(opts.model);

  async function* answer(req: EngineRequest): AsyncGenerator<EngineEvent> {
    const timer = new AbortController();
    let timedOut = false;
    const handle = setTimeout(() => {
      timedOut = true;
      timer.abort();
    }, timeoutMs);
    const signal = AbortSignal.any([req.signal, timer.signal]);
    const fail = (err: unknown): EngineError =>
      toEngineError(err, { timedOut, timeoutMs, callerSignal: req.signal });

    let parts: AsyncIterator<TextStreamPart<ToolSet>> | undefined;
    try {
      const user = await untilAborted(
        withDirectoryGroups(opts.knowledge, req.assistant, req.user).catch((cause: unknown) => {
          throw new EngineError('ENGINE_ERROR', 'The directory could not be read.', { cause });
        }),
        signal,
      );
      const sources = new SourceRegistry();
      const tools = buildTools({
        knowledge: opts.knowledge,
        assistant: req.assistant,
        principals: principalsOf(user),
        sources,
        budget: { left: maxSearches, max: maxSearches },
        actions: req.actionTools,
      });
      const result = streamText({
        model,
        system: systemPrompt(req.assistant, user, now(), { searches: maxSearches, rounds: maxSteps - 1 }),
        messages: conversationMessages(req.history, req.input),
        tools,
        stopWhen: stepCountIs(maxSteps),
        // The last step must answer: a model still calling tools there would leave the user with nothing. (The
        // tools stay declared: some servers cannot render earlier tool calls without them. A server that ignores
        // tool_choice still gets no further round: stopWhen ends the loop, and an empty answer is an error.)
        prepareStep: ({ stepNumber }) => (stepNumber >= maxSteps - 1 ? { toolChoice: 'none' as const } : undefined),
        ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
        // The worker owns retries; an SDK back-off here would only eat the timeout.
        maxRetries: 0,
        abortSignal: signal,
        // Errors arrive as stream parts and are thrown below; the SDK's default logs them to the console.
        onError: () => {},
      });
      parts = (result.fullStream as AsyncIterable<TextStreamPart<ToolSet>>)[Symbol.asyncIterator]();

      let raw = '';
      let separate = false;
      let lastText = '';
      let lastAt = 0;
      const said = new Set<string>();
      const snapshot = (final: boolean): EngineEvent & { type: 'message' } => {
        const { text: cleaned, refs } = stripMarkers(dropThinking(raw, final).trimStart(), final);
        const text = cleaned.trimEnd();
        return { type: 'message', text, ...sources.resolve(refs, codePointLength(text)) };
      };

      for (;;) {
        const next = await untilAborted(parts.next(), signal);
        if (next.done) break;
        const part = next.value;
        switch (part.type) {
          case 'text-delta': {
            if (part.text === '') break;
            if (separate && raw.trim() !== '') raw = `${raw.trimEnd()}\n\n`;
            separate = false;
            raw += part.text;
            const t = Date.now();
            if (t - lastAt < interval && !/[.!?\n。！？]/.test(part.text)) break;
            const snap = snapshot(false);
            if (snap.text === lastText || snap.text === '') break;
            if (t - lastAt >= interval || endsSentence(snap.text)) {
              lastText = snap.text;
              lastAt = t;
              yield snap;
            }
            break;
          }
          case 'finish-step':
            // Text of a later step starts a new paragraph rather than running on.
            separate = true;
            break;
          case 'tool-call': {
            if (part.invalid === true) throw invalidToolCall(part.toolName, part.error);
            const text = reasoningFor(part.toolName, part.input);
            if (text && !said.has(text)) {
              said.add(text);
              yield { type: 'reasoning', text };
            }
            break;
          }
          case 'tool-error':
            if (timedOut || req.signal.aborted) throw part.error;
            throw new EngineError('ENGINE_ERROR', 'The knowledge base could not be searched.', { cause: part.error });
          case 'error':
            throw part.error;
          case 'abort':
            throw signal.reason ?? new Error('aborted');
          default:
            break;
        }
      }

      const final = snapshot(true);
      if (final.text === '') {
        throw new EngineError('PROVIDER_ERROR', 'The language model returned an empty answer.');
      }
      yield final;
    } catch (err) {
      throw fail(err);
    } finally {
      clearTimeout(handle);
      // Stops the HTTP request if we leave early (error, consumer gone); harmless after a clean finish.
      if (!timer.signal.aborted) timer.abort();
      void parts?.return?.().catch(() => {});
    }
  }

  return { name: `llm:${opts.model}`, endpoint: loggableEndpoint(opts.baseUrl), offersActionTools: true, answer };
}

/** The base URL without user info or query (credentials must not reach the logs). */
function loggableEndpoint(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Removes `<think>…</think>` blocks that some reasoning models (served without a reasoning parser) write into
 * the content: the user sees the answer, not the deliberation. An unclosed block is cut off, and while
 * streaming so is a tag still being written.
 */
function dropThinking(raw: string, final: boolean): string {
  if (!raw.includes('<')) return raw;
  // One left-to-right pass (a lazy `<think>[\s\S]*?</think>` regex rescans to the end for each unclosed tag).
  let s = '';
  let i = 0;
  for (;;) {
    const start = raw.indexOf('<think>', i);
    const end = start < 0 ? -1 : raw.indexOf('</think>', start + '<think>'.length);
    if (end < 0) {
      s += raw.slice(i);
      break;
    }
    s += raw.slice(i, start);
    i = end + '</think>'.length;
  }
  const open = s.indexOf('<think>');
  if (open >= 0) s = s.slice(0, open);
  if (!final) s = s.replace(/<(?:t(?:h(?:i(?:n(?:k)?)?)?)?)?$/, '');
  return s;
}

/**
 * Settles with `p`, or rejects as soon as `signal` aborts: a provider that stops sending mid-stream must not
 * hold the answer past its timeout even if the underlying read ignores the abort.
 */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
