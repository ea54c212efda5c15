import { notFound } from '../protocol/errors.ts';
import { isId, newId } from '../protocol/ids.ts';
import type { OutputItem, Response } from '../protocol/schemas.ts';
import type { Queryable } from '../store/db.ts';
import { requireConversation } from './conversations.ts';
import { CHANNEL_JOBS, type Caller, type CoreDeps } from './deps.ts';
import { appendEvent } from './event-log.ts';
import { RESPONSE_COLUMNS, renderResponse, type ResponseRow } from './render.ts';

/**
 * Stores the user message, the response (which is the job) and its RESPONSE_CREATED event in one
 * transaction, then wakes the workers. Never waits for the assistant (contract §4).
 */
export async function createResponse(deps: CoreDeps, caller: Caller, conversationId: string, text: string): Promise<Response> {
  if (!isId('conv', conversationId)) throw notFound('conversation');
  const now = deps.now();
  const responseId = newId('resp');
  const messageId = newId('msg');
  const deadline = new Date(now.getTime() + deps.config.responses.timeoutSeconds * 1000);
  return deps.db.tx(async (q) => {
    const conv = await q.query(
      `UPDATE conversations SET updated_at = $4 WHERE id = $1 AND user_id = $2 AND assistant = $3 RETURNING id`,
      [conversationId, caller.user.id, caller.assistant, now],
    );
    if (conv.length === 0) throw notFound('conversation');
    await q.query(
      `INSERT INTO responses (id, conversation_id, user_id, assistant, status, input_message_id, user_claims, created_at, deadline_at)
       VALUES ($1, $2, $3, $4, 'CREATED', $5, $6, $7, $8)`,
      [responseId, conversationId, caller.user.id, caller.assistant, messageId, JSON.stringify(caller.user), now, deadline],
    );
    await q.query(
      `INSERT INTO messages (id, conversation_id, response_id, user_id, actor, text, created_at) VALUES ($1, $2, $3, $4, 'USER', $5, $6)`,
      [messageId, conversationId, responseId, caller.user.id, text, now],
    );
    const response = renderResponse(
      { id: responseId, conversation_id: conversationId, status: 'CREATED', created_at: now, completed_at: null, error: null },
      [],
    );
    await appendEvent(q, responseId, 'RESPONSE_CREATED', { response });
    await q.query(`SELECT pg_notify($1, $2)`, [CHANNEL_JOBS, responseId]);
    return response;
  });
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
  // One round trip: the row and its outputs together.
  if (!isId('conv', conversationId) || !isId('resp', responseId)) throw notFound('response');
  const rows = await deps.db.query<ResponseRow & { outputs: OutputItem[] | null }>(
    `SELECT r.id, r.conversation_id, r.status, r.created_at, r.completed_at, r.error,
            (SELECT json_agg(o.item ORDER BY o.idx) FROM response_outputs o WHERE o.response_id = r.id) AS outputs
     FROM responses r WHERE r.id = $1 AND r.conversation_id = $2 AND r.user_id = $3 AND r.assistant = $4`,
    [responseId, conversationId, caller.user.id, caller.assistant],
  );
  const row = rows[0];
  if (!row) throw notFound('response');
  return renderResponse(row, row.outputs ?? []);
}

export { requireConversation };
