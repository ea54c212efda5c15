import { ApiError } from '../protocol/errors.ts';
import { isId } from '../protocol/ids.ts';
import type { EventV1 } from '../protocol/schemas.ts';
import { requireConversation } from './conversations.ts';
import { decodeCursor, encodeCursor } from './cursors.ts';
import type { Caller, CoreDeps } from './deps.ts';
import { MESSAGE_COLUMNS, renderMessage, type MessageRow } from './render.ts';

/**
 * Final assistant messages as events, oldest first, for one conversation or all of the caller's (`-`).
 * `starting_after` is exclusive and `ending_at` inclusive, both event ids of the caller (contract §9).
 */
export async function listEvents(
  deps: CoreDeps,
  caller: Caller,
  conversationId: string,
  opts: { cursor?: string | undefined; limit?: number | undefined; starting_after?: string | undefined; ending_at?: string | undefined },
): Promise<{ events: EventV1[]; metadata: { next_cursor: string | null } }> {
  const all = conversationId === '-';
  if (!all) await requireConversation(deps.db, caller, conversationId);
  const limit = opts.limit ?? 20;
  const scope = `events:${caller.user.id}:${caller.assistant}:${conversationId}:${opts.starting_after ?? ''}:${opts.ending_at ?? ''}`;

  const positionOf = async (eventId: string, field: string): Promise<number> => {
    if (!isId('evt', eventId)) throw new ApiError('INVALID_INPUT', `${field} is not a valid event id`);
    const rows = await deps.db.query<{ pos: number }>(
      `SELECT pos FROM conversation_events WHERE id = $1 AND user_id = $2 AND assistant = $3`,
      [eventId, caller.user.id, caller.assistant],
    );
    if (!rows[0]) throw new ApiError('INVALID_INPUT', `${field} does not name one of your events`);
    return Number(rows[0].pos);
  };

  let lower = opts.starting_after !== undefined ? await positionOf(opts.starting_after, 'starting_after') : 0;
  const upper = opts.ending_at !== undefined ? await positionOf(opts.ending_at, 'ending_at') : Number.MAX_SAFE_INTEGER;
  if (opts.starting_after !== undefined && opts.ending_at !== undefined && upper <= lower) {
    throw new ApiError('INVALID_INPUT', 'ending_at must be after starting_after');
  }
  if (opts.cursor !== undefined) {
    const [pos] = decodeCursor(deps.keys, scope, opts.cursor);
    if (typeof pos !== 'number' || !Number.isSafeInteger(pos)) throw new ApiError('INVALID_CURSOR', 'cursor is invalid');
    lower = Math.max(lower, pos);
  }
  const rows = await deps.db.query<MessageRow & { event_id: string; pos: number; event_created_at: Date }>(
    `SELECT e.id AS event_id, e.pos, e.created_at AS event_created_at, ${MESSAGE_COLUMNS.split(', ').map((c) => 'm.' + c).join(', ')}
     FROM conversation_events e JOIN messages m ON m.id = e.message_id
     WHERE e.user_id = $1 AND e.assistant = $2 AND ($3::text IS NULL OR e.conversation_id = $3)
       AND e.pos > $4 AND e.pos <= $5
     ORDER BY e.pos LIMIT $6`,
    [caller.user.id, caller.assistant, all ? null : conversationId, lower, upper, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? encodeCursor(deps.keys, scope, [Number(last.pos)]) : null;
  return {
    events: page.map((r) => ({
      event_id: r.event_id,
      conversation_id: r.conversation_id,
      created_at: r.event_created_at.toISOString(),
      event_payload: { type: 'MESSAGE_EVENT' as const, message: renderMessage(deps.keys, r) },
    })),
    metadata: { next_cursor: next },
  };
}

