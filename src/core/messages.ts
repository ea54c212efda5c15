import { ApiError, notFound } from '../protocol/errors.ts';
import { isId } from '../protocol/ids.ts';
import type { Message } from '../protocol/schemas.ts';
import { decodeCursor, encodeCursor } from './cursors.ts';
import type { Caller, CoreDeps } from './deps.ts';
import { MESSAGE_COLUMNS, renderMessage, type MessageRow } from './render.ts';
import { requireResponse } from './responses.ts';

/** User and assistant messages of a conversation, newest first, keyset-paginated (contract §4, §7). */
export async function listConversationMessages(
  deps: CoreDeps,
  caller: Caller,
  conversationId: string,
  opts: { cursor?: string | undefined; limit?: number | undefined },
): Promise<{ messages: Message[]; metadata: { next_cursor: string | null } }> {
  if (!isId('conv', conversationId)) throw notFound('conversation');
  const limit = opts.limit ?? 20;
  const scope = `messages:${caller.user.id}:${conversationId}`;
  let before = Number.MAX_SAFE_INTEGER;
  if (opts.cursor !== undefined) {
    const [pos] = decodeCursor(deps.keys, scope, opts.cursor);
    if (typeof pos !== 'number' || !Number.isSafeInteger(pos)) throw new ApiError('INVALID_CURSOR', 'cursor is invalid');
    before = pos;
  }
  // Ownership and the page in one round trip: no row means not the caller's conversation (404); a row with a
  // null message id means an empty page.
  const joined = await deps.db.query<Omit<MessageRow, 'id'> & { id: string | null; pos: number | null }>(
    `SELECT m.id, m.conversation_id, m.response_id, m.actor, m.text, m.citations, m.content_references, m.created_at, m.pos
     FROM conversations c
     LEFT JOIN LATERAL (
       SELECT ${MESSAGE_COLUMNS}, pos FROM messages
       WHERE conversation_id = c.id AND pos < $4 ORDER BY pos DESC LIMIT $5
     ) m ON true
     WHERE c.id = $1 AND c.user_id = $2 AND c.assistant = $3`,
    [conversationId, caller.user.id, caller.assistant, before, limit + 1],
  );
  if (joined.length === 0) throw notFound('conversation');
  const rows = joined.filter((r): r is MessageRow & { pos: number } => r.id !== null);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? encodeCursor(deps.keys, scope, [Number(last.pos)]) : null;
  return { messages: page.map((r) => renderMessage(deps.keys, r)), metadata: { next_cursor: next } };
}

/**
 * The assistant messages of one response, then its input message (the order of the upstream page's example,
 * contract §4); never reasoning.
 */
export async function listResponseMessages(
  deps: CoreDeps,
  caller: Caller,
  conversationId: string,
  responseId: string,
): Promise<{ messages: Message[] }> {
  await requireResponse(deps.db, caller, conversationId, responseId);
  const rows = await deps.db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE response_id = $1 ORDER BY actor = 'USER', pos`, [
    responseId,
  ]);
  return { messages: rows.map((r) => renderMessage(deps.keys, r)) };
}

/** The caller's assistant message inside that response, or 404. */
export async function requireAssistantMessage(
  deps: CoreDeps,
  caller: Caller,
  conversationId: string,
  responseId: string,
  messageId: string,
): Promise<MessageRow> {
  if (!isId('conv', conversationId) || !isId('resp', responseId) || !isId('msg', messageId)) throw notFound('message');
  const rows = await deps.db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE id = $1 AND response_id = $2 AND conversation_id = $3 AND user_id = $4
       AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = $3 AND c.assistant = $5)`,
    [messageId, responseId, conversationId, caller.user.id, caller.assistant],
  );
  if (!rows[0]) throw notFound('message');
  return rows[0];
}
