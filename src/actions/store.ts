import { newId } from '../protocol/ids.ts';
import type { Queryable } from '../store/db.ts';

/** Life of a plugin call: offered → decided (once) → made (once) → done. */
export type CallStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'EXPIRED';

export interface CallRow {
  id: string;
  assistant: string;
  user_id: string;
  conversation_id: string | null;
  proposed_response_id: string | null;
  response_id: string | null;
  plugin: string;
  inputs: Record<string, unknown>;
  status: CallStatus;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  http_status: number | null;
  error: string | null;
  result: { text: string; url?: string } | null;
  trace_id: string | null;
}

const COLUMNS = `id, assistant, user_id, conversation_id, proposed_response_id, response_id, plugin, inputs, status, created_at,
  started_at, finished_at, duration_ms, http_status, error, result, trace_id`;

/** How long a confirmation stays answerable. */
export const CONFIRM_TTL_MS = 15 * 60 * 1000;

export interface NewCall {
  assistant: string;
  userId: string;
  conversationId: string;
  responseId: string;
  plugin: string;
  inputs: Record<string, unknown>;
  traceId: string | null;
}

/** Records a call that waits for the user's confirmation (the row its buttons name). */
export async function insertPending(q: Queryable, c: NewCall, now: Date): Promise<string> {
  const id = newId('call', now.getTime());
  await q.query(
    `INSERT INTO plugin_calls (id, assistant, user_id, conversation_id, proposed_response_id, plugin, inputs, status, created_at, expires_at, trace_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', $8, $9, $10)`,
    [id, c.assistant, c.userId, c.conversationId, c.responseId, c.plugin, JSON.stringify(c.inputs), now, new Date(now.getTime() + CONFIRM_TTL_MS), c.traceId],
  );
  return id;
}

/** Records a call made at once (no confirmation), already RUNNING. */
export async function insertRunning(q: Queryable, c: NewCall, now: Date): Promise<string> {
  const id = newId('call', now.getTime());
  await q.query(
    `INSERT INTO plugin_calls (id, assistant, user_id, conversation_id, proposed_response_id, response_id, plugin, inputs, status, created_at, started_at, trace_id)
     VALUES ($1, $2, $3, $4, $5, $5, $6, $7, 'RUNNING', $8, $8, $9)`,
    [id, c.assistant, c.userId, c.conversationId, c.responseId, c.plugin, JSON.stringify(c.inputs), now, c.traceId],
  );
  return id;
}

/** The call a response answers (after a callback claimed it for that response). */
export async function callForResponse(q: Queryable, callId: string, userId: string, responseId: string): Promise<CallRow | null> {
  const rows = await q.query<CallRow>(`SELECT ${COLUMNS} FROM plugin_calls WHERE id = $1 AND user_id = $2 AND response_id = $3`, [callId, userId, responseId]);
  return rows[0] ?? null;
}

/**
 * A reply ("yes" / "no") to the confirmation the previous response of the conversation offered: claims it for
 * this response in one statement (the same single-use rule as a button). Null when there is none to claim.
 */
export async function claimByReply(q: Queryable, userId: string, conversationId: string, responseId: string, confirm: boolean, now: Date): Promise<CallRow | null> {
  const rows = await q.query<CallRow>(
    // One row: a retried proposal (its worker died) may have left two; the latest is the one its final message offers.
    `UPDATE plugin_calls SET status = $5, response_id = $3, decided_at = $4
      WHERE status = 'PENDING' AND id = (
        SELECT c.id FROM plugin_calls c
         WHERE c.user_id = $1 AND c.conversation_id = $2 AND c.status = 'PENDING' AND c.expires_at > $4
           AND c.proposed_response_id = (
             SELECT p.id FROM responses p WHERE p.conversation_id = $2
                AND p.pos < (SELECT pos FROM responses WHERE id = $3) ORDER BY p.pos DESC LIMIT 1)
         ORDER BY c.seq DESC LIMIT 1)
     RETURNING ${COLUMNS}`,
    [userId, conversationId, responseId, now, confirm ? 'CONFIRMED' : 'CANCELLED'],
  );
  return rows[0] ?? null;
}

/** Starts a confirmed call: true for exactly one caller, ever (a retried answer finds it RUNNING or done). */
export async function startConfirmed(q: Queryable, callId: string, now: Date): Promise<boolean> {
  const rows = await q.query(`UPDATE plugin_calls SET status = 'RUNNING', started_at = $2 WHERE id = $1 AND status = 'CONFIRMED' RETURNING id`, [callId, now]);
  return rows.length > 0;
}

export interface CallOutcome {
  ok: boolean;
  durationMs: number;
  httpStatus: number | null;
  error: string | null;
  result: { text: string; url?: string } | null;
}

export async function finishCall(q: Queryable, callId: string, o: CallOutcome, now: Date): Promise<void> {
  await q.query(
    `UPDATE plugin_calls SET status = $2, finished_at = $3, duration_ms = $4, http_status = $5, error = $6, result = $7
      WHERE id = $1 AND status = 'RUNNING'`,
    [callId, o.ok ? 'SUCCEEDED' : 'FAILED', now, o.durationMs, o.httpStatus, o.error, o.result ? JSON.stringify(o.result) : null],
  );
}

/** The audit, newest first: one page after `beforeSeq`. */
export async function listCalls(q: Queryable, opts: { assistant?: string | undefined; limit: number; beforeSeq?: number | undefined }): Promise<(CallRow & { seq: string | number })[]> {
  return q.query<CallRow & { seq: string | number }>(
    `SELECT seq, ${COLUMNS} FROM plugin_calls
      WHERE ($1::text IS NULL OR assistant = $1) AND ($2::bigint IS NULL OR seq < $2)
      ORDER BY seq DESC LIMIT $3`,
    [opts.assistant ?? null, opts.beforeSeq ?? null, opts.limit],
  );
}
