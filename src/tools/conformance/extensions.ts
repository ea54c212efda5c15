import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { call, callStream, type CallOptions, type Exchange } from './http.ts';
import { obj, type Obj, type Runner } from './runner.ts';
import { parseStream } from './sse.ts';

/**
 * Checks of the contract's extensions, which no upstream document describes (contract §4, §5): resuming a
 * finished response from its final event, retrying a POST stream with its Idempotency-Key and Last-Event-ID,
 * cancel, and deleting a conversation. They are judged by the contract alone and counted as `<name> (extension)`.
 */
export async function extensionChecks(r: Runner, o: { token: string; assistant: string; question: string; timeoutMs: number }): Promise<void> {
  const auth: CallOptions = { token: o.token, assistant: o.assistant };
  const rec = (name: string, label: string, ex: Exchange | null, errors: string[]) => r.recordExtension(name, label, ex?.status ?? null, errors);
  const conv = str(obj((await call(r.baseUrl, 'POST', '/conversations', { ...auth, body: { title: 'Conformance extensions' } })).json)['conversation_id']);
  if (!conv) {
    rec('extensions', 'setup', null, ['could not create a conversation']);
    return;
  }
  const body = { input: { text: o.question } };
  const key = `conformance-${randomBytes(8).toString('hex')}`;
  const streamOpts = (extra: Record<string, string>): CallOptions => ({
    ...auth,
    body,
    headers: { accept: 'text/event-stream', 'idempotency-key': key, ...extra },
    timeoutMs: o.timeoutMs + 10000,
  });

  // A POST stream with an Idempotency-Key, read to its end: the reference log.
  const first = await callStream(r.baseUrl, 'POST', `/conversations/${conv}/responses/stream`, streamOpts({}));
  const events = parseStream(first.text).events;
  const last = events[events.length - 1];
  const responseId = str(obj(obj(last?.json)['response'])['response_id']);
  if (first.status !== 200 || !last || !responseId) {
    rec('create-response-stream', 'with Idempotency-Key', first, [`status ${first.status}, ${events.length} events`]);
    return;
  }
  const finalId = last.id ?? String(events.length);

  // Resume from the final event: nothing to send, and the server closes at once (not keep-alives forever).
  const resumeTimeout = 10000;
  const fromFinal = await callStream(r.baseUrl, 'GET', `/conversations/${conv}/responses/${responseId}/stream`, {
    ...auth,
    headers: { accept: 'text/event-stream', 'last-event-id': finalId },
    timeoutMs: resumeTimeout,
  });
  const afterFinal = parseStream(fromFinal.text).events;
  rec('resume-response-stream', 'from the final event', fromFinal, [
    ...(fromFinal.status !== 200 ? [`status ${fromFinal.status}, expected 200`] : []),
    ...(afterFinal.length ? [`${afterFinal.length} event(s) after the final one`] : []),
    ...(fromFinal.closed ? [] : [`the stream was still open after ${resumeTimeout / 1000} s`]),
  ]);

  // The same POST retried with Last-Event-ID: 1 resumes that response at event 2; no second response.
  const retried = await callStream(r.baseUrl, 'POST', `/conversations/${conv}/responses/stream`, streamOpts({ 'last-event-id': '1' }));
  const again = parseStream(retried.text).events;
  const retryProblems: string[] = [];
  if (retried.status !== 200) retryProblems.push(`status ${retried.status}, expected 200`);
  if (again[0]?.id !== '2') retryProblems.push(`the first event is ${again[0]?.id ?? '(none)'}, expected 2`);
  const frame = (e: { id: string | undefined; event: string | undefined; data: string | undefined }) => [e.id, e.event, e.data];
  if (!isDeepStrictEqual(again.map(frame), events.slice(1).map(frame))) retryProblems.push('the events differ from the original stream after event 1');
  const againId = str(obj(obj(again[again.length - 1]?.json)['response'])['response_id']);
  if (againId !== responseId) retryProblems.push(`resumed ${againId ?? '(nothing)'}, not ${responseId}`);
  const msgs = obj((await call(r.baseUrl, 'GET', `/conversations/${conv}/messages`, auth)).json)['messages'];
  const users = Array.isArray(msgs) ? msgs.filter((m) => obj(m)['actor'] === 'USER').length : -1;
  if (users !== 1) retryProblems.push(`${users} user messages in the conversation, expected 1`);
  rec('create-response-stream', 'retried with Idempotency-Key and Last-Event-ID', retried, retryProblems);

  // Cancel right after create: FAILED with CANCELLED, or (if the answer was quicker) the finished response.
  const created = await call(r.baseUrl, 'POST', `/conversations/${conv}/responses`, { ...auth, body });
  const rid = str(obj(created.json)['response_id']);
  if (!rid) {
    rec('cancel-response', 'setup', created, [`create answered ${created.status}`]);
    return;
  }
  const cancelPath = `/conversations/${conv}/responses/${rid}/cancel`;
  const cancelled = await call(r.baseUrl, 'POST', cancelPath, auth);
  const c = obj(cancelled.json);
  const cancelProblems: string[] = [];
  if (cancelled.status !== 200) cancelProblems.push(`status ${cancelled.status}, expected 200`);
  const st = c['status'];
  if (st === 'FAILED') {
    if (obj(c['error'])['code'] !== 'CANCELLED') cancelProblems.push(`FAILED with ${JSON.stringify(c['error'])}, expected error.code CANCELLED`);
  } else if (st !== 'COMPLETED') cancelProblems.push(`status ${String(st)} after cancel, expected FAILED (or COMPLETED if it had finished)`);
  const polled = await pollTerminal(r, auth, `/conversations/${conv}/responses/${rid}`, o.timeoutMs);
  if (!isDeepStrictEqual(polled, c)) cancelProblems.push('GET response differs from what cancel returned');
  rec('cancel-response', st === 'FAILED' ? 'in flight' : 'already finished', cancelled, cancelProblems);
  const twice = await call(r.baseUrl, 'POST', cancelPath, auth);
  rec('cancel-response', 'a finished response', twice, [
    ...(twice.status !== 200 ? [`status ${twice.status}, expected 200`] : []),
    ...(isDeepStrictEqual(obj(twice.json), c) ? [] : ['cancelling a finished response changed it']),
  ]);

  // Delete the conversation: 204 with no body, then it and everything under it answer 404 NOT_FOUND.
  const deleted = await call(r.baseUrl, 'DELETE', `/conversations/${conv}`, auth);
  const deleteProblems: string[] = [];
  if (deleted.status !== 204) deleteProblems.push(`status ${deleted.status}, expected 204`);
  if (deleted.text !== '') deleteProblems.push('a body on 204');
  for (const path of [`/conversations/${conv}`, `/conversations/${conv}/messages`, `/conversations/${conv}/responses/${responseId}`]) {
    const gone = await call(r.baseUrl, 'GET', path, auth);
    if (gone.status !== 404 || obj(obj(gone.json)['error'])['code'] !== 'NOT_FOUND') deleteProblems.push(`GET ${path} answered ${gone.status} after the delete, expected 404 NOT_FOUND`);
  }
  rec('delete-conversation', 'then everything under it is 404', deleted, deleteProblems);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

async function pollTerminal(r: Runner, auth: CallOptions, path: string, timeoutMs: number): Promise<Obj> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const body = obj((await call(r.baseUrl, 'GET', path, auth)).json);
    if (body['status'] === 'COMPLETED' || body['status'] === 'FAILED' || Date.now() > until) return body;
    await sleep(50);
  }
}
