import { ApiError, notFound } from '../protocol/errors.ts';
import { isId, newId } from '../protocol/ids.ts';
import type { Conversation } from '../protocol/schemas.ts';
import type { Queryable } from '../store/db.ts';
import { decodeCursor, encodeCursor } from './cursors.ts';
import type { Caller, CoreDeps } from './deps.ts';
import { renderConversation, type ConversationRow } from './render.ts';
import { enqueueWebhook } from '../webhooks/outbox.ts';

const COLUMNS = 'id, title, archived, created_at, updated_at';

export async function createConversation(deps: CoreDeps, caller: Caller, input: { title?: string | undefined }): Promise<Conversation> {
  const now = deps.now();
  const rows = await deps.db.query<ConversationRow>(
    `INSERT INTO conversations (id, user_id, assistant, title, archived, created_at, updated_at)
     VALUES ($1, $2, $3, $4, false, $5, $5) RETURNING ${COLUMNS}`,
    [newId('conv'), caller.user.id, caller.assistant, input.title ?? null, now],
  );
  return renderConversation(rows[0]!);
}

/** The caller's conversation row, or 404 (malformed, unknown and someone else's look the same). */
export async function requireConversation(q: Queryable, caller: Caller, id: string): Promise<ConversationRow> {
  if (!isId('conv', id)) throw notFound('conversation');
  const rows = await q.query<ConversationRow>(
    `SELECT ${COLUMNS} FROM conversations WHERE id = $1 AND user_id = $2 AND assistant = $3`,
    [id, caller.user.id, caller.assistant],
  );
  if (!rows[0]) throw notFound('conversation');
  return rows[0];
}

/**
 * Whether the caller's conversation is still stored. Asked before serving anything from a per-node cache: a
 * conversation deleted through another node must not be served from this node's memory.
 */
export async function conversationStillThere(q: Queryable, caller: Caller, conversationId: string): Promise<boolean> {
  const rows = await q.query(`SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2 AND assistant = $3`, [
    conversationId,
    caller.user.id,
    caller.assistant,
  ]);
  return rows.length > 0;
}

export async function getConversation(deps: CoreDeps, caller: Caller, id: string): Promise<Conversation> {
  return renderConversation(await requireConversation(deps.db, caller, id));
}

export async function updateConversation(
  deps: CoreDeps,
  caller: Caller,
  id: string,
  patch: { title?: string | undefined; archived?: boolean | undefined },
): Promise<Conversation> {
  if (!isId('conv', id)) throw notFound('conversation');
  const now = deps.now();
  const conversation = await deps.db.tx(async (q) => {
    const rows = await q.query<ConversationRow>(
      `UPDATE conversations SET
         title = CASE WHEN $4::boolean THEN $5 ELSE title END,
         archived = COALESCE($6, archived),
         updated_at = $7
       WHERE id = $1 AND user_id = $2 AND assistant = $3 RETURNING ${COLUMNS}`,
      [id, caller.user.id, caller.assistant, patch.title !== undefined, patch.title ?? null, patch.archived ?? null, now],
    );
    if (!rows[0]) throw notFound('conversation');
    const rendered = renderConversation(rows[0]);
    await enqueueWebhook(q, deps.config, 'conversation.updated', { user_id: caller.user.id, assistant: caller.assistant, conversation: rendered }, now);
    return rendered;
  });
  return conversation;
}

export async function listConversations(
  deps: CoreDeps,
  caller: Caller,
  opts: { cursor?: string | undefined; limit?: number | undefined; archived?: boolean | undefined },
): Promise<{ conversations: Conversation[]; metadata: { next_cursor: string | null } }> {
  const limit = opts.limit ?? 20;
  const archived = opts.archived ?? false;
  const scope = `conversations:${caller.user.id}:${caller.assistant}:${archived}`;
  const params: unknown[] = [caller.user.id, caller.assistant, archived, limit + 1];
  let where = '';
  if (opts.cursor !== undefined) {
    const [t, id] = decodeCursor(deps.keys, scope, opts.cursor);
    if (typeof t !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(t))) {
      throw new ApiError('INVALID_CURSOR', 'cursor is invalid or does not belong to this list');
    }
    params.push(new Date(t), id);
    where = 'AND (updated_at, id) < ($5, $6)';
  }
  const rows = await deps.db.query<ConversationRow>(
    `SELECT ${COLUMNS} FROM conversations
     WHERE user_id = $1 AND assistant = $2 AND archived = $3 ${where}
     ORDER BY updated_at DESC, id DESC LIMIT $4`,
    params,
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? encodeCursor(deps.keys, scope, [last.updated_at.toISOString(), last.id]) : null;
  return { conversations: page.map(renderConversation), metadata: { next_cursor: next } };
}
