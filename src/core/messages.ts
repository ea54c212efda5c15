import { ApiError, notFound } from '../protocol/errors.ts';
import { isId } from '../protocol/ids.ts';
import type { Message } from '../protocol/schemas.ts';
import { requireConversation } from './conversations.ts';
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
  await requireConversation(deps.db, caller, conversationId);
  const limit = opts.limit ?? 20;
  const scope = `messages:${caller.user.id}:${conversationId}`;
  const params: unknown[] = [conversationId, limit + 1];
  let where = '';
  if (opts.cursor !== undefined) {
    const [pos] = decodeCursor(deps.keys, scope, opts.cursor);
    if (typeof pos !== 'number' || !Number.isSafeInteger(pos)) throw new ApiError('INVALID_CURSOR', 'cursor is invalid');
    params.push(pos);
    where = 'AND pos < $3';
  }
  const rows = await deps.db.query<MessageRow & { pos: number }>(
    `SELECT ${MESSAGE_COLUMNS}, pos FROM messages WHERE conversation_id = $1 ${where} ORDER BY pos DESC LIMIT $2`,
    params,
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? encodeCursor(deps.keys, scope, [Number(last.pos)]) : null;
  return { messages: page.map((r) => renderMessage(deps.keys, r)), metadata: { next_cursor: next } };
}

/** The input message and the assistant messages of one response, oldest first, never reasoning. */
export async function listResponseMessages(
  deps: CoreDeps,
  caller: Caller,
  conversationId: string,
  responseId: string,
): Promise<{ messages: Message[] }> {
  await requireResponse(deps.db, caller, conversationId, responseId);
  const rows = await deps.db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE response_id = $1 ORDER BY pos`, [
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
