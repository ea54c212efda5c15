import { ApiError } from '../protocol/errors.ts';
import type { Caller, CoreDeps } from './deps.ts';
import { readCallbackId } from './feedback-tokens.ts';
import { requireAssistantMessage } from './messages.ts';
import { enqueueWebhook } from '../webhooks/outbox.ts';

export const MAX_FEEDBACK_CODE_POINTS = 1000;

/** Stores a rating; a later one by the same user on the same message replaces it (contract §6). */
export async function submitFeedback(
  deps: CoreDeps,
  caller: Caller,
  ids: { conversationId: string; responseId: string; messageId: string },
  body: { callback_id: string; additional_feedback?: string | undefined },
): Promise<{ status: 'SUBMITTED' }> {
  const message = await requireAssistantMessage(deps, caller, ids.conversationId, ids.responseId, ids.messageId);
  const cb = readCallbackId(deps.keys, body.callback_id);
  if (!cb || cb.messageId !== message.id) {
    throw new ApiError('INVALID_REQUEST', 'callback_id is malformed or does not belong to this message');
  }
  if (message.actor !== 'ASSISTANT') throw new ApiError('INVALID_REQUEST', 'this message does not support feedback');
  const text = body.additional_feedback;
  if (text !== undefined && Array.from(text).length > MAX_FEEDBACK_CODE_POINTS) {
    throw new ApiError('INVALID_REQUEST', `additional_feedback must be at most ${MAX_FEEDBACK_CODE_POINTS} characters`);
  }
  const now = deps.now();
  await deps.db.tx(async (q) => {
    await q.query(
      `INSERT INTO feedback (message_id, user_id, assistant, rating, comment, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)
       ON CONFLICT (message_id, user_id) DO UPDATE SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, updated_at = EXCLUDED.updated_at`,
      [message.id, caller.user.id, caller.assistant, cb.rating, text ?? null, now],
    );
    await enqueueWebhook(q, deps.config, 'feedback.submitted', {
      conversation_id: ids.conversationId,
      response_id: ids.responseId,
      message_id: message.id,
      user_id: caller.user.id,
      assistant: caller.assistant,
      rating: cb.rating,
      additional_feedback: text ?? null,
    }, now);
  });
  return { status: 'SUBMITTED' };
}

export interface FeedbackRecord {
  message_id: string;
  user_id: string;
  assistant: string;
  rating: 'HELPFUL' | 'UNHELPFUL';
  comment: string | null;
  created_at: string;
  updated_at: string;
}

/** Every stored rating, oldest first (for `parley feedback export` and the admin endpoint). */
export async function exportFeedback(deps: CoreDeps, opts: { assistant?: string | undefined; since?: Date | undefined } = {}): Promise<FeedbackRecord[]> {
  const rows = await deps.db.query<Omit<FeedbackRecord, 'created_at' | 'updated_at'> & { created_at: Date; updated_at: Date }>(
    `SELECT message_id, user_id, assistant, rating, comment, created_at, updated_at FROM feedback
     WHERE ($1::text IS NULL OR assistant = $1) AND ($2::timestamptz IS NULL OR updated_at >= $2)
     ORDER BY updated_at, message_id`,
    [opts.assistant ?? null, opts.since ?? null],
  );
  return rows.map((r) => ({ ...r, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() }));
}
