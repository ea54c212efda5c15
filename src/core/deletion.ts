import { CANCEL_TAG, CANCELLED } from '../jobs/cancel.ts';
import { failResponse } from '../jobs/failure.ts';
import type { NotifyHub } from '../jobs/hub.ts';
import { notFound } from '../protocol/errors.ts';
import { isId } from '../protocol/ids.ts';
import type { Queryable } from '../store/db.ts';
import { conversationStillThere } from './conversations.ts';
import { CHANNEL_EVENTS, CHANNEL_JOBS, type Caller, type CoreDeps } from './deps.ts';

/** The events-channel tag that tells every node to forget a deleted conversation's cache entries (`<conv id>:deleted`). */
export const DELETED_TAG = 'deleted';

/**
 * Drops what this node has in memory for these conversations: rendered messages and finished responses, and
 * remembers them as deleted (deps.deletions), so a read already under way does not cache them again. Every node
 * does it on the `<id>:deleted` notification: a cache hit is then served from memory alone
 * (core/deletion-watch.ts; while notifications are not live, hits re-check the database).
 */
export function forgetConversations(deps: CoreDeps, ids: Iterable<string>): void {
  const gone = new Set(ids);
  if (gone.size === 0) return;
  for (const id of gone) deps.deletions.deleted(id);
  // Keys are `user \0 assistant \0 conversation [\0 response]`.
  const match = (key: string) => gone.has(key.split('\u0000')[2] ?? '');
  deps.messages.deleteWhere(match);
  deps.finished.deleteWhere(match);
}

/**
 * Deletes conversations with everything stored under them — responses, messages, outputs, event logs,
 * conversation events, feedback on their messages, webhook deliveries about them, and the idempotency rows that
 * would replay them — in the caller's transaction. The conversations must be locked by the caller (FOR UPDATE).
 * Notifies (at commit) every stream of their responses, so it ends, and every node, so it forgets its cache entries.
 */
export async function deleteConversationRows(q: Queryable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const responses = (await q.query<{ id: string; status: string }>(`SELECT id, status FROM responses WHERE conversation_id = ANY($1::text[])`, [ids]));
  // A response created after the caller cancelled the running ones (a race with a new question): its worker stops too.
  const running = responses.filter((r) => r.status === 'CREATED' || r.status === 'IN_PROGRESS').map((r) => `${r.id}:${CANCEL_TAG}`);
  await notifyAll(q, CHANNEL_JOBS, running);
  await q.query(`DELETE FROM feedback WHERE message_id IN (SELECT id FROM messages WHERE conversation_id = ANY($1::text[]))`, [ids]);
  await q.query(`DELETE FROM conversation_events WHERE conversation_id = ANY($1::text[])`, [ids]);
  // Webhooks about them, sent or not: a pending one would send the deleted content afterwards (their attempts go
  // with them, ON DELETE CASCADE).
  await q.query(`DELETE FROM webhook_deliveries WHERE conversation_id = ANY($1::text[])`, [ids]);
  await q.query(`DELETE FROM response_events WHERE response_id IN (SELECT id FROM responses WHERE conversation_id = ANY($1::text[]))`, [ids]);
  await q.query(`DELETE FROM response_outputs WHERE response_id IN (SELECT id FROM responses WHERE conversation_id = ANY($1::text[]))`, [ids]);
  await q.query(`DELETE FROM messages WHERE conversation_id = ANY($1::text[])`, [ids]);
  // The rows that would replay a create of these conversations or of their responses (contract §2 keeps them 24 h).
  await q.query(
    `DELETE FROM idempotency_keys k USING conversations c
     WHERE c.id = ANY($1::text[]) AND k.user_id = c.user_id
       AND (k.operation = 'response:' || c.assistant || ':' || c.id
            OR (k.operation = 'conversation:' || c.assistant AND k.body->>'conversation_id' = c.id))`,
    [ids],
  );
  // A confirmation still waiting in these conversations can no longer be pressed; the plugin-call audit of calls
  // already made stays (it names the conversation only by id). `parley user delete` removes a person's calls.
  await q.query(`UPDATE plugin_calls SET status = 'CANCELLED', decided_at = now() WHERE conversation_id = ANY($1::text[]) AND status = 'PENDING'`, [ids]);
  await q.query(`DELETE FROM responses WHERE conversation_id = ANY($1::text[])`, [ids]);
  await q.query(`DELETE FROM conversations WHERE id = ANY($1::text[])`, [ids]);
  // Streams of these responses wake, find no row and close; every node forgets the conversations.
  await notifyAll(q, CHANNEL_EVENTS, [...responses.map((r) => r.id), ...ids.map((id) => `${id}:${DELETED_TAG}`)]);
}

/**
 * Notifications may have been missed (the listener was lost and is back): no cached finished response or message
 * list can be trusted, so all are dropped, and reads begun before now store nothing.
 */
export function forgetEverything(deps: CoreDeps): void {
  deps.deletions.lost();
  deps.messages.deleteWhere(() => true);
  deps.finished.deleteWhere(() => true);
}

/** One NOTIFY per payload, in one statement (delivered at commit). */
async function notifyAll(q: Queryable, channel: string, payloads: string[]): Promise<void> {
  if (payloads.length > 0) await q.query(`SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, [channel, payloads]);
}

/** Cancels the conversation's unfinished responses, as `POST …/cancel` would (streams get RESPONSE_FAILED, workers abort). */
async function cancelRunning(deps: CoreDeps, conversationIds: string[], local?: NotifyHub): Promise<void> {
  const running = await deps.db.query<{ id: string }>(
    `SELECT id FROM responses WHERE conversation_id = ANY($1::text[]) AND status IN ('CREATED', 'IN_PROGRESS')`,
    [conversationIds],
  );
  for (const r of running) {
    await failResponse(deps, r.id, { ...CANCELLED }, undefined, local, { wait: true, notify: { channel: CHANNEL_JOBS, payload: `${r.id}:${CANCEL_TAG}` } });
  }
}

/**
 * `DELETE /conversations/{id}` (extension): the caller's conversation and everything under it. Unfinished
 * responses are cancelled first (their streams end with RESPONSE_FAILED, their workers stop). 404 for a
 * conversation that is not the caller's, exactly like a missing one.
 */
export async function deleteConversation(deps: CoreDeps, caller: Caller, conversationId: string, local?: NotifyHub): Promise<void> {
  if (!isId('conv', conversationId)) throw notFound('conversation');
  if (!(await conversationStillThere(deps.db, caller, conversationId))) throw notFound('conversation');
  await cancelRunning(deps, [conversationId], local);
  // Every node drops the conversation from its memory when it hears the deletion; hearing it here too means the
  // notification went out (other nodes' listeners got it at the same commit) before the caller is told 204.
  let heard: () => void = () => undefined;
  const noticed = new Promise<void>((resolve) => (heard = resolve));
  const off = local && deps.db.notificationsLive() ? local.on(conversationId, (n) => n.tag === DELETED_TAG && heard()) : undefined;
  try {
    await deleteAndForgetOne(deps, caller, conversationId);
    if (off) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([noticed, new Promise((r) => (timer = setTimeout(r, NOTICE_WAIT_MS)))]);
      clearTimeout(timer);
    }
  } finally {
    off?.();
  }
}

/** How long a DELETE waits to hear its own deletion notice (it goes on without it: the listener may be down). */
const NOTICE_WAIT_MS = 2000;

async function deleteAndForgetOne(deps: CoreDeps, caller: Caller, conversationId: string): Promise<void> {
  const deleted = await deps.db.tx(async (q) => {
    // The lock orders this against a question being asked in it (which updates the row): that question is either
    // deleted with the rest or finds no conversation.
    const rows = await q.query(`SELECT id FROM conversations WHERE id = $1 AND user_id = $2 AND assistant = $3 FOR UPDATE`, [
      conversationId,
      caller.user.id,
      caller.assistant,
    ]);
    if (rows.length === 0) return false;
    await deleteConversationRows(q, [conversationId]);
    return true;
  }, { retry: true });
  forgetConversations(deps, [conversationId]);
  if (!deleted) throw notFound('conversation');
}

/**
 * Deletes conversations by id whoever owns them (retention, `parley user delete`): cancels their unfinished
 * responses, then deletes in batches of `batch`, each in its own transaction. Returns how many were deleted.
 */
export async function deleteConversationsById(deps: CoreDeps, ids: string[], local?: NotifyHub, batch = 50): Promise<number> {
  let n = 0;
  for (let i = 0; i < ids.length; i += batch) {
    const slice = ids.slice(i, i + batch);
    await cancelRunning(deps, slice, local);
    const done = await deps.db.tx(async (q) => {
      const locked = (await q.query<{ id: string }>(`SELECT id FROM conversations WHERE id = ANY($1::text[]) FOR UPDATE`, [slice])).map((r) => r.id);
      await deleteConversationRows(q, locked);
      return locked;
    }, { retry: true });
    forgetConversations(deps, done);
    n += done.length;
  }
  return n;
}
