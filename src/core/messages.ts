import { ApiError, notFound } from '../protocol/errors.ts';
import { immutableBody } from '../http/json-cache.ts';
import { isId } from '../protocol/ids.ts';
import type { Message } from '../protocol/schemas.ts';
import { conversationStillThere } from './conversations.ts';
import { decodeCursor, encodeCursor } from './cursors.ts';
import type { Caller, ConversationCache, CoreDeps } from './deps.ts';
import { MESSAGE_COLUMNS, renderMessage, type MessageRow } from './render.ts';
import { requireResponse } from './responses.ts';

/**
 * Bounds of one conversation's cache entry (deps.messages): past them, further messages are rendered each time.
 * Three default pages and the recent responses' lists; with 500 conversations in the LRU (deps.ts) and ≈ 1.1 KB
 * per rendered message, the cache stays under ≈ 60 MB whatever the traffic.
 */
const MAX_CACHED_MESSAGES = 60;
const MAX_CACHED_RESPONSES = 20;
/** Whole pages kept per conversation (embedded database only: see `pagesFromMemory`). */
const MAX_CACHED_PAGES = 4;

/**
 * Whether whole message pages may be served from memory alone (else, on PostgreSQL, after a version check). A page goes stale when messages are added, which every node
 * hears through `<id>:messages` (and `:deleted`) notifications. The embedded database delivers a notification before
 * the statement or COMMIT that sent it returns (one process; test/server/embedded-thread.test.ts), so nothing that
 * reads a newer state can run before the page is dropped. A PostgreSQL listener's connection is another socket: a
 * node could read an answer's COMPLETED status and still serve the page without it, so there pages come from the
 * database's conversation row: a cached page is served when the row's version (xmin) is the one it was read with.
 */
function pagesFromMemory(deps: CoreDeps, conversationId: string): boolean {
  return deps.db.kind === 'embedded' && deps.deletions.servesFromMemory(conversationId);
}

const cacheKey = (caller: Caller, conversationId: string) => `${caller.user.id}\u0000${caller.assistant}\u0000${conversationId}`;

/** The conversation's cache entry, made only once the database has confirmed it is the caller's (no entries for 404s). */
function ownedCache(deps: CoreDeps, caller: Caller, conversationId: string, found: ConversationCache | undefined): ConversationCache {
  if (found) return found;
  const entry: ConversationCache = { messages: new Map(), responses: new Map() };
  deps.messages.set(cacheKey(caller, conversationId), entry);
  return entry;
}

/** Forgets what this node cached for a conversation (deletion does it on every node: core/deletion.ts). */
export function forgetConversation(deps: CoreDeps, caller: Caller, conversationId: string): void {
  deps.messages.delete(cacheKey(caller, conversationId));
}

type PageRow = { pos: number | string | null; version: string | null } & { [K in keyof MessageRow]: MessageRow[K] | null };

/**
 * User and assistant messages of a conversation, newest first, keyset-paginated (contract §4, §7).
 * Messages are immutable once stored, so rendered ones are kept in memory (deps.messages), and whole pages: on the
 * embedded database served from memory alone until the conversation's messages change (`pagesFromMemory`); on
 * PostgreSQL after one primary-key lookup of the conversation's row version (ownership included). Otherwise the
 * database checks ownership and chooses the page, but sends only ids for messages already rendered.
 */
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
  const found = deps.messages.get(cacheKey(caller, conversationId));
  const pageKey = `${before}:${limit}`;
  const fromMemory = pagesFromMemory(deps, conversationId);
  const cachedPage = found?.pages?.get(pageKey);
  if (cachedPage && fromMemory && deps.deletions.unchangedSince(conversationId, cachedPage.stamp)) return cachedPage.page;
  if (cachedPage?.version !== undefined) {
    // PostgreSQL: every statement that adds messages to a conversation updates its row in the same transaction, so
    // the row's version (xmin) is the version of its message list. One primary-key lookup instead of the page query.
    const current = await deps.db.query<{ v: string }>(
      `SELECT xmin::text AS v FROM conversations WHERE id = $1 AND user_id = $2 AND assistant = $3`,
      [conversationId, caller.user.id, caller.assistant],
      { name: 'conversation-version' },
    );
    if (!current[0]) throw notFound('conversation');
    if (current[0].v === cachedPage.version) return cachedPage.page;
  }
  const stamp = deps.deletions.stamp();
  // Only cached messages among the newest limit + 1 before the cursor can be on this page: name those, so the
  // database leaves their columns out (a bounded list, whatever the cache holds).
  const known = [...(found?.messages.entries() ?? [])]
    .filter(([, m]) => m.pos < before)
    .sort((x, y) => y[1].pos - x[1].pos)
    .slice(0, limit + 1)
    .map(([id]) => id);
  // Ownership and the page in one round trip: no row means not the caller's conversation (404); a row with a
  // null message id means an empty page.
  const epoch = deps.deletions.epoch();
  const joined = await deps.db.query<PageRow>(
    `SELECT m.id, m.pos, m.conversation_id, m.response_id, m.actor, m.text, m.citations, m.content_references, m.created_at,
            m.callback_id, m.actions, c.xmin::text AS version
     FROM conversations c
     LEFT JOIN LATERAL (
       SELECT id, pos, conversation_id, response_id, actor, created_at,
              CASE WHEN known THEN NULL ELSE text END AS text,
              CASE WHEN known THEN NULL ELSE callback_id END AS callback_id,
              CASE WHEN known THEN NULL ELSE actions END AS actions,
              CASE WHEN known THEN NULL ELSE citations END AS citations,
              CASE WHEN known THEN NULL ELSE content_references END AS content_references
       FROM (SELECT *, id = ANY($6::text[]) AS known FROM messages
             WHERE conversation_id = c.id AND pos < $4 ORDER BY pos DESC LIMIT $5) k
     ) m ON true
     WHERE c.id = $1 AND c.user_id = $2 AND c.assistant = $3`,
    [conversationId, caller.user.id, caller.assistant, before, limit + 1, known],
    { name: 'list-conversation-messages' },
  );
  if (joined.length === 0) throw notFound('conversation');
  // A deletion heard while the page was read: serve what was read, cache nothing of it.
  const storing = deps.deletions.mayStore(epoch, conversationId);
  const cache = storing
    ? ownedCache(deps, caller, conversationId, found)
    : (found ?? ({ messages: new Map(), responses: new Map() } as ConversationCache));
  const rows = joined.filter((r) => r.id !== null);
  const page = rows.slice(0, limit);
  const messages = page.map((r) => {
    const id = r.id as string;
    const hit = cache.messages.get(id);
    if (hit) return hit.message;
    const message = renderMessage(deps.keys, r as MessageRow);
    if (cache.messages.size < MAX_CACHED_MESSAGES) cache.messages.set(id, { pos: Number(r.pos), message });
    return message;
  });
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? encodeCursor(deps.keys, scope, [Number(last.pos)]) : null;
  const result = { messages, metadata: { next_cursor: next } };
  const version = deps.db.kind === 'postgres' ? (joined[0]?.version ?? undefined) : undefined;
  if (storing && ((fromMemory && deps.deletions.unchangedSince(conversationId, stamp)) || version !== undefined)) {
    const pages = (cache.pages ??= new Map());
    pages.delete(pageKey);
    pages.set(pageKey, { stamp, version, page: immutableBody(result) });
    if (pages.size > MAX_CACHED_PAGES) pages.delete(pages.keys().next().value as string);
  }
  return result;
}

/**
 * The assistant messages of one response, then its input message (the order of the upstream page's example,
 * contract §4); never reasoning. A finished response's list never changes, so it is served from memory once
 * read (the key carries user, assistant and conversation, and it was stored after the ownership check).
 */
export async function listResponseMessages(
  deps: CoreDeps,
  caller: Caller,
  conversationId: string,
  responseId: string,
): Promise<{ messages: Message[] }> {
  if (!isId('conv', conversationId) || !isId('resp', responseId)) throw notFound('response');
  const found = deps.messages.get(cacheKey(caller, conversationId));
  const cached = found?.responses.get(responseId);
  // Memory is per node: the conversation may have been deleted through another one since. Every node hears
  // deletions (core/deletion-watch.ts); only while it cannot is the database asked.
  if (cached) {
    if (deps.deletions.servesFromMemory(conversationId)) return cached;
    if (!deps.deletions.isDeleted(conversationId) && (await conversationStillThere(deps.db, caller, conversationId))) return cached;
    forgetConversation(deps, caller, conversationId);
    throw notFound('response');
  }
  const epoch = deps.deletions.epoch();
  const response = await requireResponse(deps.db, caller, conversationId, responseId);
  const rows = await deps.db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE response_id = $1 ORDER BY actor = 'USER', pos`, [
    responseId,
  ]);
  const messages = rows.map((r) => renderMessage(deps.keys, r));
  if (!deps.deletions.mayStore(epoch, conversationId)) return { messages };
  const cache = ownedCache(deps, caller, conversationId, found);
  // Read after the status: the messages of a finished response were committed with (or before) its status.
  if ((response.status === 'COMPLETED' || response.status === 'FAILED') && cache.responses.size < MAX_CACHED_RESPONSES) {
    const body = immutableBody({ messages });
    cache.responses.set(responseId, body);
    return body;
  }
  return { messages };
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
