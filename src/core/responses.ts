import { CHOICE_LABELS, type ActionCallback } from '../actions/tokens.ts';
import { immutableBody } from '../http/json-cache.ts';
import { ApiError, notFound } from '../protocol/errors.ts';
import { isId, newId } from '../protocol/ids.ts';
import type { OutputItem, Response } from '../protocol/schemas.ts';
import type { Queryable } from '../store/db.ts';
import { CHANNEL_EVENTS, CHANNEL_JOBS, MESSAGES_TAG, type Caller, type CoreDeps } from './deps.ts';
import { conversationStillThere } from './conversations.ts';
import { createBatcher } from './create-batch.ts';
import { RESPONSE_COLUMNS, renderResponse, type ResponseRow } from './render.ts';

/**
 * Stores the user message, the response (which is the job) and its RESPONSE_CREATED event in one
 * transaction, then wakes the workers. Never waits for the assistant (contract §4). Questions asked at the same
 * moment share that statement and its commit (create-batch.ts).
 */
export async function createResponse(
  deps: CoreDeps,
  caller: Caller,
  conversationId: string,
  text: string | null,
  traceId?: string,
  callback?: ActionCallback & { callbackId: string },
): Promise<Response> {
  if (!isId('conv', conversationId)) throw notFound('conversation');
  if (text === null && !callback) throw new ApiError('INVALID_INPUT', 'input needs exactly one of text or callback_id');
  const now = deps.now();
  const responseId = newId('resp');
  const messageId = newId('msg');
  const deadline = new Date(now.getTime() + deps.config.responses.timeoutSeconds * 1000);
  const response = renderResponse(
    { id: responseId, conversation_id: conversationId, status: 'CREATED', created_at: now, completed_at: null, error: null },
    [],
  );
  const event = JSON.stringify({ event_type: 'RESPONSE_CREATED', sequence_number: 1, response });
  // One statement, one round trip: data-modifying CTEs run atomically, and nothing is written unless the
  // conversation is the caller's. This is the hot path of every question (and of the first SSE byte).
  // A callback (V1 button) claims its pending call in the same statement: of two uses of one id, on any nodes,
  // exactly one matches `status = 'PENDING'`; the other stores nothing and is 400 below.
  const claim = callback
    ? `claim AS (
         UPDATE plugin_calls SET status = $15::text, response_id = $5::text, decided_at = $4::timestamptz
          WHERE id = $14::text AND user_id = $2::text AND assistant = $3::text AND conversation_id = $1::text
            AND status = 'PENDING' AND (expires_at IS NULL OR expires_at > $4::timestamptz)
         RETURNING id
       ), `
    : '';
  if (!callback) {
    // Stored together with the questions asked at the same moment (one statement, one commit: create-batch.ts).
    const stored = await createBatcher(deps.db).store({
      conversationId, userId: caller.user.id, assistant: caller.assistant, at: now, responseId, messageId,
      claims: JSON.stringify(caller.user), deadline, text: text ?? '', event, traceId: traceId ?? null,
    });
    if (!stored) throw notFound('conversation');
    return response;
  }
  const rows = await deps.db.query<{ ok: number }>(
    `WITH ${claim}conv AS (
       UPDATE conversations SET updated_at = $4::timestamptz
        WHERE id = $1::text AND user_id = $2::text AND assistant = $3::text ${callback ? 'AND EXISTS (SELECT 1 FROM claim)' : ''} RETURNING id
     ), resp AS (
       INSERT INTO responses (id, conversation_id, user_id, assistant, status, input_message_id, user_claims, created_at, deadline_at, last_seq, trace_id)
       SELECT $5::text, conv.id, $2::text, $3::text, 'CREATED', $6::text, $7::jsonb, $4::timestamptz, $8::timestamptz, 1, $13::text FROM conv
       RETURNING id
     ), msg AS (
       INSERT INTO messages (id, conversation_id, response_id, user_id, actor, text, created_at, callback_id)
       SELECT $6::text, conv.id, $5::text, $2::text, 'USER', $9::text, $4::timestamptz, ${callback ? '$16::text' : 'NULL'} FROM conv
       RETURNING id
     ), ev AS (
       INSERT INTO response_events (response_id, seq, event_type, data)
       SELECT resp.id, 1, 'RESPONSE_CREATED', $10::text FROM resp
       RETURNING response_id
     )
     SELECT 1 AS ok, pg_notify($11::text, $5::text || ':1'), pg_notify($12::text, $5::text), pg_notify($11::text, conv.id || ':${MESSAGES_TAG}')
       FROM conv, ev, msg`,
    [
      conversationId, caller.user.id, caller.assistant, now, responseId, messageId, JSON.stringify(caller.user), deadline,
      callback ? CHOICE_LABELS[callback.choice] : text, event, CHANNEL_EVENTS, CHANNEL_JOBS, traceId ?? null,
      ...(callback ? [callback.callId, callback.choice === 'confirm' ? 'CONFIRMED' : 'CANCELLED', callback.callbackId] : []),
    ],
    // Only a callback's question comes here (a plain one goes through the batcher above).
    {},
  );
  if (rows.length === 0) {
    if (!callback) throw notFound('conversation');
    const conv = await deps.db.query(`SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2 AND assistant = $3`, [conversationId, caller.user.id, caller.assistant]);
    if (conv.length === 0) throw notFound('conversation');
    throw new ApiError('INVALID_INPUT', 'input.callback_id was already used, has expired, or does not name an action offered in this conversation');
  }
  return response;
}

/** The caller's response row (404 unless it belongs to them and to that conversation). */
export async function requireResponse(q: Queryable, caller: Caller, conversationId: string, responseId: string): Promise<ResponseRow> {
  if (!isId('conv', conversationId) || !isId('resp', responseId)) throw notFound('response');
  const rows = await q.query<ResponseRow>(
    `SELECT ${RESPONSE_COLUMNS} FROM responses WHERE id = $1 AND conversation_id = $2 AND user_id = $3 AND assistant = $4`,
    [responseId, conversationId, caller.user.id, caller.assistant],
  );
  if (!rows[0]) throw notFound('response');
  return rows[0];
}

export async function loadOutputs(q: Queryable, responseId: string): Promise<OutputItem[]> {
  const rows = await q.query<{ item: OutputItem }>(`SELECT item FROM response_outputs WHERE response_id = $1 ORDER BY idx`, [responseId]);
  return rows.map((r) => r.item);
}

/** GET response: assistant outputs only, in production order (contract §4). */
export async function getResponse(deps: CoreDeps, caller: Caller, conversationId: string, responseId: string): Promise<Response> {
  if (!isId('conv', conversationId) || !isId('resp', responseId)) throw notFound('response');
  const key = `${caller.user.id}\u0000${caller.assistant}\u0000${conversationId}\u0000${responseId}`;
  const cached = deps.finished.get(key);
  // Memory is per node: the conversation may have been deleted through another one since. Every node hears
  // deletions (core/deletion-watch.ts); only while it cannot is the database asked.
  if (cached) {
    if (deps.deletions.servesFromMemory(conversationId)) return cached;
    if (!deps.deletions.isDeleted(conversationId) && (await conversationStillThere(deps.db, caller, conversationId))) return cached;
    deps.finished.delete(key);
    throw notFound('response');
  }
  const epoch = deps.deletions.epoch();
  // One round trip: the row and its outputs together.
  const rows = await deps.db.query<ResponseRow & { outputs: OutputItem[] | null }>(
    `SELECT r.id, r.conversation_id, r.status, r.created_at, r.completed_at, r.error,
            (SELECT json_agg(o.item ORDER BY o.idx) FROM response_outputs o WHERE o.response_id = r.id) AS outputs
     FROM responses r WHERE r.id = $1 AND r.conversation_id = $2 AND r.user_id = $3 AND r.assistant = $4`,
    [responseId, conversationId, caller.user.id, caller.assistant],
  );
  const row = rows[0];
  if (!row) throw notFound('response');
  const response = renderResponse(row, row.outputs ?? []);
  if ((row.status === 'COMPLETED' || row.status === 'FAILED') && deps.deletions.mayStore(epoch, conversationId)) deps.finished.set(key, immutableBody(response));
  return response;
}

