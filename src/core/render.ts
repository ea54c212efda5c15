import type { Keys } from '../store/secrets.ts';
import type { Action, Citation, Content, ContentReference, Conversation, Message, OutputItem, Response } from '../protocol/schemas.ts';
import { iso } from './deps.ts';
import { callbackIdFor } from './feedback-tokens.ts';
import { isSafeCitationUrl, safeMarkdown, safeMarkdownText, shiftOffset } from './markup.ts';

export interface ConversationRow {
  id: string;
  title: string | null;
  archived: boolean;
  created_at: Date;
  updated_at: Date;
}

export function renderConversation(r: ConversationRow): Conversation {
  const out: Conversation = {
    conversation_id: r.id,
    archived: r.archived,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
  if (r.title !== null) out.title = r.title;
  return out;
}

export interface MessageRow {
  id: string;
  conversation_id: string;
  response_id: string;
  actor: 'USER' | 'ASSISTANT';
  text: string;
  citations: Citation[] | null;
  content_references: ContentReference[] | null;
  created_at: Date;
  /** A user message that is an action callback (V1 `CALLBACK_ACTION_CONTENT`); `text` is the action's label. */
  callback_id?: string | null;
  /** An assistant message's actions (V1; the BETA dialect leaves them out). */
  actions?: Action[] | null;
}

export const MESSAGE_COLUMNS = 'id, conversation_id, response_id, actor, text, citations, content_references, created_at, callback_id, actions';

/** CommonMark content with markup neutralised (markup.ts): every answer, reasoning and citation text goes through here. */
export function commonmark(text: string): Content {
  return { type: 'COMMONMARK_TEXT', commonmark_text: { text: safeMarkdownText(text) } };
}

/** A stored citation on the wire, its texts neutralised again (idempotent) whatever was stored. */
function safeCitation(c: Citation): Citation {
  const text = (x: Content): Content => (x.type === 'COMMONMARK_TEXT' ? commonmark(x.commonmark_text.text) : x);
  return { ...c, display: { ...c.display, title: text(c.display.title), body: text(c.display.body) } };
}

/** A stored message on the wire; assistant messages carry their feedback callback ids. */
export function renderMessage(keys: Keys, r: MessageRow): Message {
  if (r.actor === 'USER') {
    return {
      message_id: r.id,
      conversation_id: r.conversation_id,
      response_id: r.response_id,
      actor: 'USER',
      content: r.callback_id
        ? { type: 'CALLBACK_ACTION_CONTENT', callback_action: { callback_id: r.callback_id } }
        : { type: 'PLAIN_TEXT', plain_text: { text: r.text } },
      created_at: iso(r.created_at),
    };
  }
  // Stored answers were made safe when built; doing it again is a no-op for them and protects older rows.
  const safe = safeMarkdown(r.text);
  const citations = (r.citations ?? []).filter((c) => isSafeCitationUrl(c.url)).map(safeCitation);
  const kept = new Set(citations.map((c) => c.citation_id));
  return {
    message_id: r.id,
    conversation_id: r.conversation_id,
    response_id: r.response_id,
    actor: 'ASSISTANT',
    content: commonmark(safe.text),
    created_at: iso(r.created_at),
    citations,
    content_references: (r.content_references ?? [])
      .filter((ref) => kept.has(ref.citation_id))
      .map((ref) => ({ ...ref, offset: shiftOffset(ref.offset, safe.insertedAt) })),
    feedback: {
      helpful: { callback_id: callbackIdFor(keys, r.id, 'HELPFUL') },
      unhelpful: { callback_id: callbackIdFor(keys, r.id, 'UNHELPFUL') },
    },
    ...(r.actions && r.actions.length > 0 ? { actions: r.actions } : {}),
  };
}

export interface ResponseRow {
  id: string;
  conversation_id: string;
  status: Response['status'];
  created_at: Date;
  completed_at: Date | null;
  error: { code: string; message: string } | null;
}

export const RESPONSE_COLUMNS = 'id, conversation_id, status, created_at, completed_at, error';

export function renderResponse(r: ResponseRow, outputs: OutputItem[]): Response {
  const out: Response = {
    response_id: r.id,
    conversation_id: r.conversation_id,
    status: r.status,
    created_at: iso(r.created_at),
    completed_at: r.completed_at ? iso(r.completed_at) : null,
    outputs,
  };
  if (r.status === 'FAILED' && r.error) out.error = r.error;
  return out;
}
