import type { Conversation, MessageBeta as Message, ResponseBeta as Response } from '../protocol/schemas.ts';
import { errorFromResponse, NetworkError, ParleyError, UnexpectedResponseError } from './errors.ts';
import { AnswerStream } from './answer-stream.ts';
import { enc, responsePath } from './paths.ts';
import type { ResponseRef } from './paths.ts';
import type { CallOptions, CreateOptions, ListConversationsOptions, ListOptions, Page, Rating } from './types.ts';

export interface ParleyClientOptions {
  /** Origin of the server, e.g. `http://127.0.0.1:8080`; empty in a page served by Parley itself. */
  baseUrl?: string;
  /** The bearer token, or a function giving the current one (called before every request). */
  token: string | (() => string | Promise<string>);
  /** Sent as `Assistant-Name`. */
  assistant: string;
  /** API base path; default `/rest/v1beta1`. */
  basePath?: string;
  /** Injectable `fetch` (tests, proxies, instrumentation); default the global one. */
  fetch?: typeof fetch;
  /** Retries after a network failure or a 409/429/502/503/504, per call (and per drop of a stream); default 5. */
  maxRetries?: number;
  /** First back-off delay; doubles per retry up to 5 s. Default 250 ms. */
  retryDelayMs?: number;
  /** A stream silent this long (the server sends a keep-alive every 15 s) counts as dropped and is resumed. Default 45 s. */
  idleTimeoutMs?: number;
}

const TRACE = 'x-moveworks-root-uuid';
const RETRY_STATUSES = new Set([409, 429, 502, 503, 504]);
/** A 429 asking for a longer wait than this is handed to the caller rather than slept through. */
const MAX_RETRY_AFTER_SECONDS = 10;

/** A random Idempotency-Key (browsers outside a secure context have no randomUUID). */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  return Array.from(c.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type { ResponseRef } from './paths.ts';

/**
 * A client of Parley's Conversations API (BETA dialect) for browsers and Node ≥ 20: plain `fetch`, no
 * dependencies, typed by the server's own protocol schemas. Failed calls throw one `ParleyError` subclass per
 * status, with the envelope's code and the trace id.
 */
export class ParleyClient {
  private readonly baseUrl: string;
  private readonly basePath: string;
  private readonly fetchFn: typeof fetch;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly idleTimeoutMs: number;

  constructor(private readonly opts: ParleyClientOptions) {
    this.baseUrl = (opts.baseUrl ?? '').replace(/\/+$/, '');
    this.basePath = opts.basePath ?? '/rest/v1beta1';
    // Bound to globalThis: browsers refuse a `fetch` called as a method of another object.
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.maxRetries = opts.maxRetries ?? 5;
    this.retryDelayMs = opts.retryDelayMs ?? 250;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 45_000;
  }

  // ------------------------------------------------------------------ conversations

  createConversation(body: { title?: string } = {}, opts: CreateOptions = {}): Promise<Conversation> {
    return this.request('POST', '/conversations', { body, idempotencyKey: opts.idempotencyKey ?? newIdempotencyKey(), signal: opts.signal });
  }

  getConversation(conversationId: string, opts: CallOptions = {}): Promise<Conversation> {
    return this.request('GET', `/conversations/${enc(conversationId)}`, opts);
  }

  updateConversation(conversationId: string, patch: { title?: string; archived?: boolean }, opts: CallOptions = {}): Promise<Conversation> {
    return this.request('PATCH', `/conversations/${enc(conversationId)}`, { body: patch, signal: opts.signal });
  }

  renameConversation(conversationId: string, title: string, opts: CallOptions = {}): Promise<Conversation> {
    return this.updateConversation(conversationId, { title }, opts);
  }

  archiveConversation(conversationId: string, archived = true, opts: CallOptions = {}): Promise<Conversation> {
    return this.updateConversation(conversationId, { archived }, opts);
  }

  /** Deletes the conversation with everything in it (Parley extension); `NotFoundError` if it is not there. */
  async deleteConversation(conversationId: string, opts: CallOptions = {}): Promise<void> {
    await this.request<undefined>('DELETE', `/conversations/${enc(conversationId)}`, { signal: opts.signal });
  }

  /** One page of conversations, most recently updated first. */
  async conversationsPage(opts: ListConversationsOptions & CallOptions = {}): Promise<Page<Conversation>> {
    const body = await this.request<{ conversations: Conversation[]; metadata: { next_cursor: string | null } }>('GET', '/conversations', {
      query: { archived: opts.archived === undefined ? undefined : String(opts.archived), limit: opts.limit, cursor: opts.cursor },
      signal: opts.signal,
    });
    return { items: body.conversations, nextCursor: body.metadata.next_cursor };
  }

  /** Every conversation, following cursors page by page as the iteration goes. */
  listConversations(opts: Omit<ListConversationsOptions, 'cursor'> & CallOptions = {}): AsyncIterableIterator<Conversation> {
    return paginate((cursor) => this.conversationsPage({ ...opts, ...(cursor ? { cursor } : {}) }));
  }

  // ------------------------------------------------------------------ messages

  /** One page of a conversation's user and assistant messages, newest first. */
  async messagesPage(conversationId: string, opts: ListOptions & CallOptions = {}): Promise<Page<Message>> {
    const body = await this.request<{ messages: Message[]; metadata: { next_cursor: string | null } }>('GET', `/conversations/${enc(conversationId)}/messages`, {
      query: { limit: opts.limit, cursor: opts.cursor },
      signal: opts.signal,
    });
    return { items: body.messages, nextCursor: body.metadata.next_cursor };
  }

  /** Every message of a conversation, newest first. */
  listMessages(conversationId: string, opts: Omit<ListOptions, 'cursor'> & CallOptions = {}): AsyncIterableIterator<Message> {
    return paginate((cursor) => this.messagesPage(conversationId, { ...opts, ...(cursor ? { cursor } : {}) }));
  }

  /** The assistant message(s) of a response, then its input. */
  async responseMessages(ref: ResponseRef, opts: CallOptions = {}): Promise<Message[]> {
    const body = await this.request<{ messages: Message[] }>('GET', `${responsePath(ref)}/messages`, opts);
    return body.messages;
  }

  // ------------------------------------------------------------------ responses

  getResponse(ref: ResponseRef, opts: CallOptions = {}): Promise<Response> {
    return this.request('GET', responsePath(ref), opts);
  }

  /** Creates a response without streaming (202, status CREATED); poll `getResponse` or `streamResponse`. */
  createResponse(conversationId: string, text: string, opts: CreateOptions = {}): Promise<Response> {
    return this.request('POST', `/conversations/${enc(conversationId)}/responses`, {
      body: { input: { text } },
      idempotencyKey: opts.idempotencyKey ?? newIdempotencyKey(),
      signal: opts.signal,
    });
  }

  /**
   * Asks a question and yields the response's events as they happen, each once and in order. A dropped or
   * silent connection is resumed by itself: before the response exists, by re-sending the create with the
   * same `Idempotency-Key` (the server never creates a second response); after, with `GET …/stream` and
   * `Last-Event-ID`. Ends after the terminal event. Breaking out of the loop stops listening, never the answer.
   */
  ask(conversationId: string, text: string, opts: CreateOptions = {}): AnswerStream {
    return new AnswerStream(this, { conversationId, text, idempotencyKey: opts.idempotencyKey ?? newIdempotencyKey(), signal: opts.signal });
  }

  /** Follows an existing response's events after `afterSequence` (0: from the start), resuming as `ask()` does. */
  streamResponse(ref: ResponseRef, opts: CallOptions & { afterSequence?: number } = {}): AnswerStream {
    return new AnswerStream(this, { conversationId: ref.conversationId, responseId: ref.responseId, after: opts.afterSequence ?? 0, signal: opts.signal });
  }

  /**
   * Cancels a response that is still CREATED or IN_PROGRESS (it ends FAILED with `error.code: CANCELLED`); a
   * finished one comes back unchanged. Needs a server with the cancel extension (`POST …/cancel`).
   */
  cancel(ref: ResponseRef, opts: CallOptions = {}): Promise<Response> {
    return this.request('POST', `${responsePath(ref)}/cancel`, { body: {}, signal: opts.signal });
  }

  // ------------------------------------------------------------------ feedback

  /** Posts a callback id of an assistant message (`message.feedback.helpful.callback_id` …). */
  async submitFeedback(
    ref: ResponseRef & { messageId: string },
    body: { callback_id: string; additional_feedback?: string },
    opts: CallOptions = {},
  ): Promise<{ status: 'SUBMITTED' }> {
    return this.request('POST', `${responsePath(ref)}/messages/${enc(ref.messageId)}/feedback`, { body, signal: opts.signal });
  }

  /** Rates an assistant message with its own callback id; a later rating replaces this one. */
  rate(message: Message, rating: Rating, comment?: string, opts: CallOptions = {}): Promise<{ status: 'SUBMITTED' }> {
    const callback = message.feedback?.[rating]?.callback_id;
    if (!callback) {
      return Promise.reject(new ParleyError({ status: 0, code: 'INVALID_REQUEST', message: 'this message does not take feedback' }));
    }
    const body: { callback_id: string; additional_feedback?: string } = { callback_id: callback };
    if (comment !== undefined && comment.trim() !== '') body.additional_feedback = comment;
    return this.submitFeedback({ conversationId: message.conversation_id, responseId: message.response_id, messageId: message.message_id }, body, opts);
  }

  // ------------------------------------------------------------------ plumbing

  /** @internal Headers every call carries. */
  async headers(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    return { authorization: `Bearer ${token}`, 'assistant-name': this.opts.assistant, ...extra };
  }

  /** @internal */
  url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const q = Object.entries(query)
      .filter((e): e is [string, string | number] => e[1] !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    return `${this.baseUrl}${this.basePath}${path}${q ? `?${q}` : ''}`;
  }

  /** @internal One fetch, with a network failure as NetworkError and a user abort passed through. */
  async send(url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<globalThis.Response> {
    try {
      return await this.fetchFn(url, init);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new NetworkError({ status: 0, code: 'NETWORK_ERROR', message: `could not reach the server: ${(err as Error).message}`, cause: err });
    }
  }

  /** @internal Whether to retry after `err` (the failures so far counted in `attempt`), and after how long. */
  retryDelay(err: unknown, attempt: number): number | null {
    if (attempt > this.maxRetries) return null;
    let delay = Math.min(this.retryDelayMs * 2 ** (attempt - 1), 5000);
    if (err instanceof NetworkError) return delay;
    if (err instanceof ParleyError && RETRY_STATUSES.has(err.status)) {
      if (err.retryAfter !== undefined) {
        if (err.retryAfter > MAX_RETRY_AFTER_SECONDS) return null;
        delay = Math.max(delay, err.retryAfter * 1000);
      }
      return delay;
    }
    return null;
  }

  /** @internal */
  wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return sleep(ms, signal);
  }

  /** @internal Stream-idle limit. */
  get idleMs(): number {
    return this.idleTimeoutMs;
  }

  /**
   * A JSON call. Every call here may be retried: reads, PATCH, DELETE and feedback are idempotent by nature, and
   * creates carry an Idempotency-Key that every retry repeats.
   */
  private async request<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    opts: { body?: unknown; query?: Record<string, string | number | undefined>; idempotencyKey?: string | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    const url = this.url(path, opts.query);
    for (let attempt = 1; ; attempt++) {
      const extra: Record<string, string> = { accept: 'application/json' };
      if (opts.body !== undefined) extra['content-type'] = 'application/json';
      if (opts.idempotencyKey) extra['idempotency-key'] = opts.idempotencyKey;
      const init: RequestInit = { method, headers: await this.headers(extra) };
      if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
      if (opts.signal) init.signal = opts.signal;
      let failure: ParleyError;
      try {
        const res = await this.send(url, init, opts.signal);
        if (res.status === 204) return undefined as T;
        // A retried DELETE whose earlier attempt went through (its answer lost) finds nothing: that is done too.
        if (method === 'DELETE' && attempt > 1 && res.status === 404) return undefined as T;
        if (res.ok) {
          try {
            return (await res.json()) as T;
          } catch (err) {
            if (opts.signal?.aborted) throw opts.signal.reason;
            throw new UnexpectedResponseError({ status: res.status, code: 'UNEXPECTED_RESPONSE', message: 'the server answered with something other than JSON', traceId: res.headers.get(TRACE) ?? undefined, cause: err });
          }
        }
        failure = await errorFromResponse(res);
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
        failure = err;
      }
      const delay = this.retryDelay(failure, attempt);
      if (delay === null) throw failure;
      await sleep(delay, opts.signal);
    }
  }
}

async function* paginate<T>(page: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    yield* p.items;
    cursor = p.nextCursor ?? undefined;
  } while (cursor);
}
