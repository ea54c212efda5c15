import type { Conversation, Message } from '../protocol/schemas.ts';
import { deleteConversationsById } from './deletion.ts';
import type { CoreDeps } from './deps.ts';
import { MESSAGE_COLUMNS, renderConversation, renderMessage, type ConversationRow, type MessageRow } from './render.ts';

/**
 * The user ids (token subjects) that are this person: the address itself as a subject (`parley token --user`
 * and sign-in links use it) and every subject whose token carried this address as a *verified* email. An
 * unverified email claim names nobody: anyone can put any address in a token they sign.
 */
export async function userIdsFor(deps: CoreDeps, email: string): Promise<string[]> {
  const address = email.trim().toLowerCase();
  if (!address.includes('@')) throw new Error('give an email address');
  const rows = await deps.db.query<{ user_id: string }>(
    `SELECT user_id FROM conversations WHERE lower(user_id) = $1
     UNION SELECT user_id FROM feedback WHERE lower(user_id) = $1
     UNION SELECT user_id FROM responses
       WHERE lower(user_claims->>'email') = $1 AND user_claims->>'emailVerified' = 'true'`,
    [address],
  );
  return [...new Set(rows.map((r) => r.user_id))].sort();
}

export interface UserExport {
  email: string;
  user_ids: string[];
  exported_at: string;
  conversations: (Conversation & { assistant: string; user_id: string; messages: Message[] })[];
  feedback: { message_id: string; conversation_id: string; response_id: string; assistant: string; rating: string; comment: string | null; created_at: string; updated_at: string }[];
  /** Plugin calls made or offered for them (inputs left out: they may hold configured secrets). */
  plugin_calls: { call_id: string; assistant: string; plugin: string; status: string; conversation_id: string | null; created_at: string; finished_at: string | null }[];
}

/** `parley user export EMAIL`: every conversation of the person with its messages (oldest first), and their feedback. */
export async function exportUser(deps: CoreDeps, email: string): Promise<UserExport> {
  const ids = await userIdsFor(deps, email);
  const convs = await deps.db.query<ConversationRow & { assistant: string; user_id: string }>(
    `SELECT id, title, archived, created_at, updated_at, assistant, user_id FROM conversations WHERE user_id = ANY($1::text[]) ORDER BY created_at, id`,
    [ids],
  );
  const conversations: UserExport['conversations'] = [];
  for (const c of convs) {
    const messages = await deps.db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 ORDER BY pos`, [c.id]);
    conversations.push({ ...renderConversation(c), assistant: c.assistant, user_id: c.user_id, messages: messages.map((m) => renderMessage(deps.keys, m)) });
  }
  const feedback = await deps.db.query<{
    message_id: string;
    conversation_id: string;
    response_id: string;
    assistant: string;
    rating: string;
    comment: string | null;
    created_at: Date;
    updated_at: Date;
  }>(
    `SELECT f.message_id, m.conversation_id, m.response_id, f.assistant, f.rating, f.comment, f.created_at, f.updated_at
     FROM feedback f JOIN messages m ON m.id = f.message_id WHERE f.user_id = ANY($1::text[]) ORDER BY f.created_at`,
    [ids],
  );
  const calls = await deps.db.query<{ id: string; assistant: string; plugin: string; status: string; conversation_id: string | null; created_at: Date; finished_at: Date | null }>(
    `SELECT id, assistant, plugin, status, conversation_id, created_at, finished_at FROM plugin_calls WHERE user_id = ANY($1::text[]) ORDER BY seq`,
    [ids],
  );
  return {
    email: email.trim().toLowerCase(),
    user_ids: ids,
    exported_at: deps.now().toISOString(),
    conversations,
    feedback: feedback.map((f) => ({ ...f, created_at: new Date(f.created_at).toISOString(), updated_at: new Date(f.updated_at).toISOString() })),
    plugin_calls: calls.map((c) => ({
      call_id: c.id,
      assistant: c.assistant,
      plugin: c.plugin,
      status: c.status,
      conversation_id: c.conversation_id,
      created_at: new Date(c.created_at).toISOString(),
      finished_at: c.finished_at ? new Date(c.finished_at).toISOString() : null,
    })),
  };
}

/**
 * `parley user delete EMAIL`: deletes the person's conversations (with everything under them, unfinished
 * responses cancelled first), any feedback and idempotency rows left under their ids, and the webhook outbox
 * rows that carry their data, and their plugin calls.
 */
export async function deleteUser(deps: CoreDeps, email: string): Promise<{ user_ids: string[]; conversations: number; feedback: number; webhook_deliveries: number; plugin_calls: number }> {
  const ids = await userIdsFor(deps, email);
  if (ids.length === 0) return { user_ids: [], conversations: 0, feedback: 0, webhook_deliveries: 0, plugin_calls: 0 };
  const convIds = (await deps.db.query<{ id: string }>(`SELECT id FROM conversations WHERE user_id = ANY($1::text[])`, [ids])).map((r) => r.id);
  const [{ n }] = (await deps.db.query<{ n: number | string }>(`SELECT count(*) AS n FROM feedback WHERE user_id = ANY($1::text[])`, [ids])) as [{ n: number | string }];
  const conversations = await deleteConversationsById(deps, convIds);
  // Feedback on their own messages went with the conversations; anything left under their ids goes now.
  await deps.db.query(`DELETE FROM feedback WHERE user_id = ANY($1::text[])`, [ids]);
  const feedback = Number(n);
  await deps.db.query(`DELETE FROM idempotency_keys WHERE user_id = ANY($1::text[])`, [ids]);
  const webhookDeliveries = (
    await deps.db.query(`DELETE FROM webhook_deliveries WHERE (body::jsonb)->'data'->>'user_id' = ANY($1::text[]) RETURNING seq`, [ids])
  ).length;
  // Their plugin calls (the audit rows hold their inputs, such as their address).
  const pluginCalls = (await deps.db.query(`DELETE FROM plugin_calls WHERE user_id = ANY($1::text[]) RETURNING seq`, [ids])).length;
  return { user_ids: ids, conversations, feedback, webhook_deliveries: webhookDeliveries, plugin_calls: pluginCalls };
}
