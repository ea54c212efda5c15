import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { ORDER, completedProblems, finalMessage, orderProblem, rank } from './contract.ts';
import { Abort, arr, obj, type Obj, type Runner } from './runner.ts';
import { checkSequence, eventSchemas, parseStream } from './sse.ts';

/** The operations the scenario knows how to drive, by method and parameter-erased path. */
export const OPS = {
  listConversations: 'GET /conversations',
  createConversation: 'POST /conversations',
  getConversation: 'GET /conversations/{}',
  updateConversation: 'PATCH /conversations/{}',
  listEvents: 'GET /conversations/{}/events',
  createResponse: 'POST /conversations/{}/responses',
  createResponseStream: 'POST /conversations/{}/responses/stream',
  getResponse: 'GET /conversations/{}/responses/{}',
  listConversationMessages: 'GET /conversations/{}/messages',
  listResponseMessages: 'GET /conversations/{}/responses/{}/messages',
  submitFeedback: 'POST /conversations/{}/responses/{}/messages/{}/feedback',
} as const;

export interface ScenarioOptions {
  token: string;
  assistant: string;
  /** The question asked (twice: once polled, once streamed). */
  question: string;
  /** How long a response may take to finish (the upstream documents 120 s). */
  timeoutMs: number;
  pollMs: number;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function need<T>(value: T | undefined, why: string): T {
  if (value === undefined) throw new Abort(why);
  return value;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** A well-formed id that names nothing. */
function ghostId(prefix: string): string {
  return `${prefix}_${Array.from(randomBytes(22), (b) => BASE62[b % 62]).join('')}`;
}

/** The same token with one character changed: a forgery that keeps the shape. */
function tamper(token: string): string {
  const i = Math.floor(token.length / 2);
  const c = token[i] === 'A' ? 'B' : 'A';
  return token.slice(0, i) + c + token.slice(i + 1);
}

/** Polls GET response until it is terminal; every answer is validated; one check is recorded. */
export async function pollResponse(r: Runner, o: ScenarioOptions, conv: string, resp: string): Promise<Obj> {
  const auth = { token: o.token, assistant: o.assistant };
  const path = `/conversations/${conv}/responses/${resp}`;
  const started = Date.now();
  const problems: string[] = [];
  let polls = 0;
  let best = 0;
  let body: Obj = {};
  let status: number | null = null;
  const seen: string[] = [];
  for (;;) {
    const ex = await r.quiet(OPS.getResponse, path, auth);
    polls++;
    status = ex.status;
    for (const e of r.inspect(OPS.getResponse, ex, 200)) if (problems.length < 5) problems.push(`poll ${polls}: ${e}`);
    if (ex.status !== 200) break;
    body = obj(ex.json);
    const st = body['status'];
    if (seen[seen.length - 1] !== st) seen.push(String(st));
    if (rank(st) < best) problems.push(`status went back to ${String(st)} after ${ORDER[best]}`);
    best = Math.max(best, rank(st));
    if (st === 'COMPLETED' || st === 'FAILED') break;
    if (Date.now() - started > o.timeoutMs) {
      problems.push(`still ${String(st)} after ${o.timeoutMs / 1000} s`);
      break;
    }
    await sleep(o.pollMs);
  }
  if (body['status'] === 'FAILED') problems.push(`the response FAILED: ${JSON.stringify(body['error'] ?? null)}`);
  if (body['status'] === 'COMPLETED') problems.push(...completedProblems(body));
  r.record(OPS.getResponse, `polled ${polls}x: ${seen.join(' > ')}`, status, problems);
  return body;
}

/** The SSE endpoint: framing, each event's data against its type's schema, and the sequence rules of contract §5. */
async function streamChecks(r: Runner, o: ScenarioOptions, conv: string): Promise<Obj | undefined> {
  const key = OPS.createResponseStream;
  const ex = await r.stream(key, `/conversations/${conv}/responses/stream`, {
    token: o.token,
    assistant: o.assistant,
    body: { input: { text: o.question } },
    headers: { accept: 'text/event-stream' },
    timeoutMs: o.timeoutMs + 10000,
  });
  const framing = r.inspect(key, ex, 200, 'text/event-stream');
  const firstByte = ex.firstByteMs === undefined ? '' : `, first byte after ${ex.firstByteMs.toFixed(0)} ms`;
  if (ex.status !== 200) {
    r.record(key, 'stream', ex.status, framing);
    return undefined;
  }
  const ct = ex.headers.get('content-type') ?? '';
  if (!ct.toLowerCase().startsWith('text/event-stream')) framing.push(`content-type is ${ct || '(none)'}, expected text/event-stream`);
  const parsed = parseStream(ex.text);
  framing.push(...parsed.framing);
  if (!ex.closed) framing.push(`the server did not close the stream within ${(o.timeoutMs + 10000) / 1000} s`);
  r.record(key, `framing${firstByte}`, ex.status, framing);

  const schemaErrors: string[] = [];
  const op = r.spec.operation(key);
  if (op) {
    const schemas = eventSchemas(r.spec, op);
    for (const e of parsed.events) {
      const where = `event ${e.index + 1} ${e.event ?? '(no event)'}`;
      if (schemas.eventPointer) for (const err of r.spec.validate(schemas.eventPointer, e.event).errors) schemaErrors.push(`${where}: event name ${err}`);
      const at = (e.event !== undefined ? schemas.byType.get(e.event) : undefined) ?? schemas.whole;
      if (!at) {
        schemaErrors.push(`no text/event-stream schema is documented for ${op.label} 200`);
        break;
      }
      for (const err of r.spec.validate(at, e.json).errors) schemaErrors.push(`${where}: ${err}`);
    }
  }
  r.record(key, `event data, ${parsed.events.length} events`, ex.status, schemaErrors);
  r.record(key, 'sequence', ex.status, checkSequence(parsed.events));

  const last = parsed.events[parsed.events.length - 1];
  return last ? obj(obj(last.json)['response']) : undefined;
}

interface Sample {
  key: string;
  label: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Drives every operation the tool knows: the happy path first (each later step uses what the earlier ones
 * created), then the errors a client can cause, each only where the document lists that status.
 */
export async function scenario(r: Runner, o: ScenarioOptions): Promise<void> {
  const auth = { token: o.token, assistant: o.assistant };
  const stamp = new Date().toISOString();

  // Conversations: create two, read, rename, list page by page.
  const title = `Conformance ${stamp}`;
  const a = await r.exchange(OPS.createConversation, 'with title', '/conversations', { ...auth, body: { title } }, {
    status: 201,
    check: (b) => (b['title'] === title ? undefined : `title is ${JSON.stringify(b['title'])}, expected ${JSON.stringify(title)}`),
  });
  const convA = need(str(obj(a.json)['conversation_id']), 'create-conversation gave no conversation_id');
  const b = await r.exchange(OPS.createConversation, 'without title', '/conversations', { ...auth, body: {} }, { status: 201 });
  const convB = need(str(obj(b.json)['conversation_id']), 'create-conversation gave no conversation_id');
  await r.exchange(OPS.getConversation, '', `/conversations/${convA}`, auth, {
    status: 200,
    check: (c) => (c['conversation_id'] === convA ? undefined : `conversation_id is ${String(c['conversation_id'])}, expected ${convA}`),
  });
  const renamed = `${title} (renamed)`;
  await r.exchange(OPS.updateConversation, 'title', `/conversations/${convA}`, { ...auth, body: { title: renamed } }, {
    status: 200,
    check: (c) => (c['title'] === renamed ? undefined : `title is ${JSON.stringify(c['title'])} after the update`),
  });

  const page1 = await r.exchange(OPS.listConversations, 'limit=1', '/conversations?limit=1', auth, {
    status: 200,
    check: (l) => {
      const p: string[] = [];
      if (arr(l['conversations']).length !== 1) p.push(`${arr(l['conversations']).length} conversations on a page of limit=1`);
      if (!str(obj(l['metadata'])['next_cursor'])) p.push('metadata.next_cursor is not a cursor although more conversations exist');
      return p;
    },
  });
  const firstId = obj(arr(obj(page1.json)['conversations'])[0])['conversation_id'];
  const cursor = str(obj(obj(page1.json)['metadata'])['next_cursor']);
  if (cursor) {
    await r.exchange(OPS.listConversations, 'next page', `/conversations?limit=1&cursor=${encodeURIComponent(cursor)}`, auth, {
      status: 200,
      check: (l) => {
        const list = arr(l['conversations']).map(obj);
        if (list.length !== 1) return `${list.length} conversations on the second page of limit=1`;
        return list[0]!['conversation_id'] === firstId ? 'the second page repeats the first' : undefined;
      },
    });
  }
  await r.exchange(OPS.listConversations, 'limit=100', '/conversations?limit=100', auth, {
    status: 200,
    check: (l) => {
      const list = arr(l['conversations']).map(obj);
      const ids = list.map((c) => c['conversation_id']);
      const p: string[] = [];
      if (!ids.includes(convA) || !ids.includes(convB)) p.push('the conversations just created are not listed');
      if (list.length < 100 && obj(l['metadata'])['next_cursor'] !== null) p.push(`metadata.next_cursor is ${JSON.stringify(obj(l['metadata'])['next_cursor'])} on the last page; expected null`);
      const order = orderProblem(list, 'updated_at', true, 'conversations');
      if (order) p.push(order);
      return p;
    },
  });

  // A response, polled to the end.
  const created = await r.exchange(OPS.createResponse, '', `/conversations/${convA}/responses`, { ...auth, body: { input: { text: o.question } } }, {
    status: 202,
    check: (x) => {
      const p: string[] = [];
      if (x['status'] !== 'CREATED') p.push(`status is ${String(x['status'])}; create returns CREATED`);
      if (x['completed_at'] !== null && x['completed_at'] !== undefined) p.push('completed_at is set on a new response');
      if (arr(x['outputs']).length) p.push('a new response already has outputs');
      return p;
    },
  });
  const respA = need(str(obj(created.json)['response_id']), 'create-response gave no response_id');
  const done = await pollResponse(r, o, convA, respA);
  const message = need(finalMessage(done), `response ${respA} did not complete with an assistant message`);
  const msgA = need(str(message['message_id']), 'the assistant message has no message_id');
  const helpful = need(str(obj(obj(message['feedback'])['helpful'])['callback_id']), 'the assistant message has no helpful callback_id');

  // Messages and events.
  await r.exchange(OPS.listConversationMessages, '', `/conversations/${convA}/messages`, auth, {
    status: 200,
    check: (l) => {
      const list = arr(l['messages']).map(obj);
      const p: string[] = [];
      const user = list.find((m) => m['actor'] === 'USER' && m['response_id'] === respA);
      if (!user) p.push('the user message of the response is not listed');
      else if (obj(obj(user['content'])['plain_text'])['text'] !== o.question) p.push('the user message does not carry the input text as PLAIN_TEXT');
      if (!list.some((m) => m['message_id'] === msgA)) p.push(`the assistant message ${msgA} is not listed`);
      const order = orderProblem(list, 'created_at', true, 'messages');
      if (order) p.push(order);
      return p;
    },
  });
  const mpage = await r.exchange(OPS.listConversationMessages, 'limit=1', `/conversations/${convA}/messages?limit=1`, auth, {
    status: 200,
    check: (l) => {
      const p: string[] = [];
      if (arr(l['messages']).length !== 1) p.push(`${arr(l['messages']).length} messages on a page of limit=1`);
      if (!str(obj(l['metadata'])['next_cursor'])) p.push('metadata.next_cursor is not a cursor although more messages exist');
      return p;
    },
  });
  const mfirst = obj(arr(obj(mpage.json)['messages'])[0])['message_id'];
  const mcursor = str(obj(obj(mpage.json)['metadata'])['next_cursor']);
  if (mcursor) {
    await r.exchange(OPS.listConversationMessages, 'next page', `/conversations/${convA}/messages?limit=1&cursor=${encodeURIComponent(mcursor)}`, auth, {
      status: 200,
      check: (l) => {
        const list = arr(l['messages']).map(obj);
        if (list.length !== 1) return `${list.length} messages on the second page of limit=1`;
        return list[0]!['message_id'] === mfirst ? 'the second page repeats the first' : undefined;
      },
    });
  }
  await r.exchange(OPS.listResponseMessages, '', `/conversations/${convA}/responses/${respA}/messages`, auth, {
    status: 200,
    check: (l) => {
      const list = arr(l['messages']).map(obj);
      const p: string[] = [];
      // The upstream page's example order (contract §4): the assistant's message(s), then the user's input.
      if (list.at(-1)?.['actor'] !== 'USER') p.push('the last message is not the user input');
      if (list.slice(0, -1).some((m) => m['actor'] !== 'ASSISTANT')) p.push('messages before the input are not all ASSISTANT');
      if (!list.some((m) => m['message_id'] === msgA)) p.push(`the assistant message ${msgA} is not listed`);
      if (list.some((m) => m['response_id'] !== respA)) p.push('a listed message belongs to another response');
      const order = orderProblem(list.slice(0, -1), 'created_at', false, 'assistant messages');
      if (order) p.push(order);
      return p;
    },
  });
  await r.exchange(OPS.listEvents, 'one conversation', `/conversations/${convA}/events`, auth, {
    status: 200,
    check: (l) => (arr(l['events']).map(obj).some((e) => e['conversation_id'] !== convA) ? 'an event of another conversation is listed' : undefined),
  });
  await r.exchange(OPS.listEvents, 'all conversations', '/conversations/-/events', auth, { status: 200 });
  const feedbackPath = `/conversations/${convA}/responses/${respA}/messages/${msgA}/feedback`;
  await r.exchange(OPS.submitFeedback, 'helpful', feedbackPath, { ...auth, body: { callback_id: helpful, additional_feedback: 'Conformance check.' } }, {
    status: 200,
    check: (x) => (x['status'] === 'SUBMITTED' ? undefined : `status is ${String(x['status'])}`),
  });

  // The stream, then the same response read by polling.
  const streamed = await streamChecks(r, o, convB);
  const streamedId = str(streamed?.['response_id']);
  if (streamed && streamedId) {
    await r.exchange(OPS.getResponse, 'after the stream', `/conversations/${convB}/responses/${streamedId}`, auth, {
      status: 200,
      check: (x) => (isDeepStrictEqual(x, streamed) ? undefined : 'GET response differs from the response in the terminal stream event'),
    });
  }
  const otherCallback = str(obj(obj(finalMessage(streamed ?? {})?.['feedback'])['helpful'])['callback_id']);

  // Errors a client can cause, where the document lists the status.
  const valid: Sample[] = [
    { key: OPS.listConversations, label: '', path: '/conversations' },
    { key: OPS.createConversation, label: '', path: '/conversations', body: {} },
    { key: OPS.getConversation, label: '', path: `/conversations/${convA}` },
    { key: OPS.updateConversation, label: '', path: `/conversations/${convA}`, body: { title: renamed } },
    { key: OPS.listEvents, label: '', path: `/conversations/${convA}/events` },
    { key: OPS.createResponse, label: '', path: `/conversations/${convA}/responses`, body: { input: { text: o.question } } },
    { key: OPS.createResponseStream, label: '', path: `/conversations/${convA}/responses/stream`, body: { input: { text: o.question } }, headers: { accept: 'text/event-stream' } },
    { key: OPS.getResponse, label: '', path: `/conversations/${convA}/responses/${respA}` },
    { key: OPS.listConversationMessages, label: '', path: `/conversations/${convA}/messages` },
    { key: OPS.listResponseMessages, label: '', path: `/conversations/${convA}/responses/${respA}/messages` },
    { key: OPS.submitFeedback, label: '', path: feedbackPath, body: { callback_id: helpful } },
  ];
  const documents = (key: string, status: number) => {
    const op = r.spec.operation(key);
    return op ? op.responses.has(String(status)) || op.responses.has(`${String(status)[0]}XX`) : false;
  };
  const send = async (s: Sample, status: number, opts: { token?: string; assistant?: string }) => {
    if (!documents(s.key, status)) return;
    await r.exchange(s.key, s.label, s.path, { ...opts, ...(s.body !== undefined ? { body: s.body } : {}), ...(s.headers ? { headers: s.headers } : {}) }, { status });
  };

  for (const s of valid) await send({ ...s, label: 'no token' }, 401, { assistant: o.assistant });
  for (const s of valid) await send({ ...s, label: 'unknown Assistant-Name' }, 403, { token: o.token, assistant: 'conformance-no-such-assistant' });

  const ghostConv = ghostId('conv');
  const ghostResp = ghostId('resp');
  const notFound: Sample[] = [
    { key: OPS.getConversation, label: 'unknown conversation', path: `/conversations/${ghostConv}` },
    { key: OPS.updateConversation, label: 'unknown conversation', path: `/conversations/${ghostConv}`, body: { title: renamed } },
    { key: OPS.listEvents, label: 'unknown conversation', path: `/conversations/${ghostConv}/events` },
    { key: OPS.createResponse, label: 'unknown conversation', path: `/conversations/${ghostConv}/responses`, body: { input: { text: o.question } } },
    { key: OPS.createResponseStream, label: 'unknown conversation', path: `/conversations/${ghostConv}/responses/stream`, body: { input: { text: o.question } }, headers: { accept: 'text/event-stream' } },
    { key: OPS.getResponse, label: 'unknown response', path: `/conversations/${convA}/responses/${ghostResp}` },
    { key: OPS.listConversationMessages, label: 'unknown conversation', path: `/conversations/${ghostConv}/messages` },
    { key: OPS.listResponseMessages, label: 'unknown response', path: `/conversations/${convA}/responses/${ghostResp}/messages` },
    { key: OPS.submitFeedback, label: 'unknown message', path: `/conversations/${convA}/responses/${respA}/messages/${ghostId('msg')}/feedback`, body: { callback_id: helpful } },
  ];
  for (const s of notFound) await send(s, 404, auth);

  const badRequest: Sample[] = [
    { key: OPS.listConversations, label: 'bad cursor', path: '/conversations?cursor=not-a-cursor' },
    ...(cursor ? [{ key: OPS.listConversations, label: 'tampered cursor', path: `/conversations?cursor=${encodeURIComponent(tamper(cursor))}` }] : []),
    { key: OPS.createConversation, label: 'blank title', path: '/conversations', body: { title: '   ' } },
    { key: OPS.updateConversation, label: 'empty title', path: `/conversations/${convA}`, body: { title: '' } },
    { key: OPS.createResponse, label: 'empty input', path: `/conversations/${convA}/responses`, body: { input: { text: '' } } },
    { key: OPS.createResponseStream, label: 'empty input', path: `/conversations/${convA}/responses/stream`, body: { input: { text: '' } }, headers: { accept: 'text/event-stream' } },
    { key: OPS.listConversationMessages, label: 'bad cursor', path: `/conversations/${convA}/messages?cursor=not-a-cursor` },
    { key: OPS.submitFeedback, label: 'forged callback_id', path: feedbackPath, body: { callback_id: tamper(helpful) } },
    ...(otherCallback ? [{ key: OPS.submitFeedback, label: 'callback_id of another message', path: feedbackPath, body: { callback_id: otherCallback } }] : []),
  ];
  for (const s of badRequest) await send(s, 400, auth);

  // CONTRACT.md §7 decides a bad `limit` (INVALID_INPUT); upstream's 400 enum for these endpoints only has
  // INVALID_CURSOR, so these are checked against the contract's envelope and code instead of that enum.
  const badLimits: Sample[] = [
    { key: OPS.listConversations, label: 'bad limit (contract §7: INVALID_INPUT)', path: '/conversations?limit=0' },
    { key: OPS.listConversations, label: 'bad limit (contract §7: INVALID_INPUT)', path: '/conversations?limit=abc' },
    { key: OPS.listConversationMessages, label: 'bad limit (contract §7: INVALID_INPUT)', path: `/conversations/${convA}/messages?limit=101` },
  ];
  for (const s of badLimits) {
    await r.exchange(s.key, s.label, s.path, auth, { status: 400, contractCode: 'INVALID_INPUT' });
  }
}
