import type { ResponseBeta as Response } from '../protocol/schemas.ts';
import type { ParleyClient } from './client.ts';
import { errorFromResponse, NetworkError, ParleyError, UnexpectedResponseError } from './errors.ts';
import { enc, responsePath } from './paths.ts';
import { readSse } from './sse.ts';
import type { StreamEvent } from './types.ts';

const TERMINAL = new Set(['RESPONSE_COMPLETED', 'RESPONSE_FAILED']);

/** Where an answer stream starts: a question to create (`text`), or an existing response to follow. */
export interface AnswerStart {
  conversationId: string;
  text?: string;
  idempotencyKey?: string;
  responseId?: string;
  after?: number;
  signal?: AbortSignal | undefined;
}

/**
 * The events of one response as an async iterator (see `ParleyClient.ask`). `responseId` is known from the
 * first event on; `lastSequence` is the last event handed out (what a resume would send as Last-Event-ID).
 */
export class AnswerStream implements AsyncIterableIterator<StreamEvent> {
  private _responseId: string | undefined;
  private last: number;
  private readonly gen: AsyncGenerator<StreamEvent>;
  /** How many times the connection was re-established after a drop (for diagnostics and tests). */
  reconnects = 0;

  constructor(
    private readonly client: ParleyClient,
    private readonly start: AnswerStart,
  ) {
    this._responseId = start.responseId;
    this.last = start.after ?? 0;
    this.gen = this.run();
  }

  get responseId(): string | undefined {
    return this._responseId;
  }

  get lastSequence(): number {
    return this.last;
  }

  next(): Promise<IteratorResult<StreamEvent>> {
    return this.gen.next();
  }

  return(): Promise<IteratorResult<StreamEvent>> {
    return this.gen.return(undefined);
  }

  [Symbol.asyncIterator](): AnswerStream {
    return this;
  }

  /** Reads every event to the end; the final response (COMPLETED or FAILED). */
  async final(): Promise<Response> {
    let final: Response | undefined;
    for await (const ev of this) if (ev.event_type === 'RESPONSE_COMPLETED' || ev.event_type === 'RESPONSE_FAILED') final = ev.response;
    if (!final) throw new UnexpectedResponseError({ status: 0, code: 'UNEXPECTED_RESPONSE', message: 'the stream ended without a final event' });
    return final;
  }

  private async *run(): AsyncGenerator<StreamEvent> {
    const { client, start } = this;
    const userSignal = start.signal;
    let failures = 0;
    for (;;) {
      const ctrl = new AbortController();
      const onUserAbort = () => ctrl.abort(userSignal!.reason);
      userSignal?.addEventListener('abort', onUserAbort, { once: true });
      let idle: ReturnType<typeof setTimeout> | undefined;
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(() => ctrl.abort(new Error('stream idle')), client.idleMs);
      };
      let failure: ParleyError | null = null;
      try {
        if (userSignal?.aborted) throw userSignal.reason;
        let url: string;
        const init: RequestInit = { signal: ctrl.signal };
        if (this._responseId === undefined) {
          url = client.url(`/conversations/${enc(start.conversationId)}/responses/stream`);
          init.method = 'POST';
          init.headers = await client.headers({ accept: 'text/event-stream', 'content-type': 'application/json', 'idempotency-key': start.idempotencyKey! });
          init.body = JSON.stringify({ input: { text: start.text } });
        } else {
          url = client.url(`${responsePath({ conversationId: start.conversationId, responseId: this._responseId })}/stream`);
          init.method = 'GET';
          init.headers = await client.headers({ accept: 'text/event-stream', 'last-event-id': String(this.last) });
        }
        touch();
        const res = await client.send(url, init, userSignal);
        if (!res.ok) failure = await errorFromResponse(res);
        else if (!res.body) failure = new UnexpectedResponseError({ status: res.status, code: 'UNEXPECTED_RESPONSE', message: 'the stream has no body' });
        else {
          let fresh = 0;
          for await (const frame of readSse(res.body, touch)) {
            if (frame.event === 'ERROR') break; // a fault of the stream itself: resume from the last event
            const seq = Number(frame.id);
            if (!Number.isInteger(seq) || seq <= this.last) continue; // a replayed event already handed out
            let ev: StreamEvent;
            try {
              ev = JSON.parse(frame.data) as StreamEvent;
            } catch {
              continue;
            }
            this.last = seq;
            fresh++;
            failures = 0;
            if ('response' in ev && this._responseId === undefined) this._responseId = ev.response.response_id;
            yield ev;
            if (TERMINAL.has(ev.event_type)) return;
          }
          // A resume after the final event closes at once with nothing (contract §5): the answer is over.
          if (fresh === 0 && init.method === 'GET' && this._responseId !== undefined) {
            const now = await client.getResponse({ conversationId: start.conversationId, responseId: this._responseId }, userSignal ? { signal: userSignal } : {});
            if (now.status === 'COMPLETED' || now.status === 'FAILED') return;
          }
          failure = new NetworkError({ status: 0, code: 'NETWORK_ERROR', message: 'the stream closed before the answer finished' });
        }
      } catch (err) {
        if (userSignal?.aborted) throw userSignal.reason;
        if (err instanceof ParleyError && !(err instanceof NetworkError)) throw err;
        // A dropped connection (or our idle abort) surfaces as a network error of the read.
        failure = err instanceof NetworkError ? err : new NetworkError({ status: 0, code: 'NETWORK_ERROR', message: 'the connection dropped', cause: err });
      } finally {
        clearTimeout(idle);
        userSignal?.removeEventListener('abort', onUserAbort);
        ctrl.abort(); // release the connection of this attempt
      }
      failures++;
      const delay = client.retryDelay(failure, failures);
      if (delay === null) throw failure;
      this.reconnects++;
      await client.wait(delay, userSignal);
    }
  }
}
