import { callbackLabelOf } from '../actions/tokens.ts';
import type { AskingUser, EngineAction, EngineEvent, HistoryMessage } from '../assistant/engine.ts';
import { truncateCodePoints } from '../assistant/text.ts';
import { isSafeCitationUrl, safeMarkdown, shiftOffset } from '../core/markup.ts';
import { commonmark } from '../core/render.ts';
import { newId } from '../protocol/ids.ts';
import type { Action, Citation, ContentReference, Message } from '../protocol/schemas.ts';

/** Earlier messages handed to the engine. */
const HISTORY_LIMIT = 20;

/** What turning engine output into wire messages needs of the claimed response. */
export interface AnsweringRow {
  id: string;
  conversation_id: string;
  input_message_id: string;
  user_claims: AskingUser;
}

/**
 * A wire message from an engine snapshot: stable `cite_` ids per source key, only referenced citations, unique.
 * `newCitationId(key, n)` names the `n`-th source of the answer (default: a fresh id).
 */
export function buildMessage(
  row: AnsweringRow,
  id: string,
  createdAt: string,
  ev: Extract<EngineEvent, { type: 'message' }>,
  citationIds: Map<string, string>,
  newCitationId: (key: string, n: number) => string = () => newId('cite'),
): Message {
  const citeId = (key: string) => {
    let c = citationIds.get(key);
    if (!c) {
      c = newCitationId(key, citationIds.size);
      citationIds.set(key, c);
    }
    return c;
  };
  // Markup is neutralised before offsets are final (backslashes go in, so each offset moves by those before it);
  // a citation whose URL is not http(s)/mailto is no citation at all.
  const safe = safeMarkdown(ev.text);
  const known = new Set(ev.citations.filter((c) => isSafeCitationUrl(c.url)).map((c) => c.key));
  const references: ContentReference[] = ev.references
    .filter((r) => known.has(r.key))
    .map((r) => ({ citation_id: citeId(r.key), offset: shiftOffset(r.offset, safe.insertedAt) }))
    .sort((a, b) => a.offset - b.offset);
  const referenced = new Set(ev.references.map((r) => r.key));
  const seen = new Set<string>();
  const citations: Citation[] = [];
  for (const c of ev.citations) {
    // Unique per message, and only what the text points at (contract §6).
    if (seen.has(c.key) || !referenced.has(c.key) || !known.has(c.key)) continue;
    seen.add(c.key);
    citations.push({
      citation_id: citeId(c.key),
      url: c.url,
      display: { title: commonmark(c.title), body: commonmark(c.body), attributes: c.attributes },
    });
  }
  const actions = wireActions(ev.actions ?? []);
  return {
    message_id: id,
    conversation_id: row.conversation_id,
    response_id: row.id,
    actor: 'ASSISTANT',
    content: commonmark(safe.text),
    created_at: createdAt,
    citations,
    content_references: references,
    ...(actions.length > 0 ? { actions } : {}),
  };
}

/** An engine's actions on the wire; a link that is not http(s) is no action at all (as for citations). */
function wireActions(actions: EngineAction[]): Action[] {
  return actions.flatMap((a): Action[] => {
    if (a.type === 'callback') return [{ type: 'CALLBACK_ACTION', label: a.label, callback_action: { callback_id: a.callbackId } }];
    return /^https?:\/\//i.test(a.url) && URL.canParse(a.url) ? [{ type: 'URL_ACTION', label: a.label, url_action: { url: a.url } }] : [];
  });
}

export function textOf(m: Message): string {
  switch (m.content.type) {
    case 'COMMONMARK_TEXT':
      return m.content.commonmark_text.text;
    case 'PLAIN_TEXT':
      return m.content.plain_text.text;
    case 'CALLBACK_ACTION_CONTENT':
      return callbackLabelOf(m.content.callback_action.callback_id);
    default: {
      const never: never = m.content;
      throw new Error(`unknown content ${JSON.stringify(never)}`);
    }
  }
}

/** A title made from the exchange: the first line of the question, at most 80 characters, cut at a word. */
export function titleFrom(input: string): string {
  const line = input.replace(/\s+/g, ' ').trim();
  if (Array.from(line).length <= 80) return line;
  const cut = truncateCodePoints(line, 79);
  const space = cut.lastIndexOf(' ');
  return (space > 40 ? cut.slice(0, space) : cut) + '…';
}

/** A stored message as the history reads it. */
export interface HistoryRow {
  id: string;
  actor: 'USER' | 'ASSISTANT';
  text: string;
  citations: Citation[] | null;
  callback_id: string | null;
}

/**
 * The messages of a conversation up to a response's input, newest first, at most `limit`; the arguments name the
 * statement's parameters (`$1`...) holding the response id, the conversation id and the limit. Ordered by
 * response, then message, so a conversation reads Q1 A1 Q2 A2 even when Q2 was posted before A1 existed. FIFO
 * answering means every earlier response is final by now.
 */
export function historySql(response: string, conversation: string, limit: string): string {
  return `SELECT m.id, m.actor, m.text, m.citations, m.callback_id, r.pos AS response_pos, m.pos AS message_pos
     FROM messages m JOIN responses r ON r.id = m.response_id
     WHERE m.conversation_id = ${conversation} AND r.pos <= (SELECT pos FROM responses WHERE id = ${response})
     ORDER BY r.pos DESC, m.pos DESC LIMIT ${limit}`;
}

/** How many rows historySql is asked for: the history and the input. */
export const HISTORY_ROWS = HISTORY_LIMIT + 1;

/** The history and the input from historySql's rows (newest first). */
export function historyFrom(newestFirst: HistoryRow[]): { history: HistoryMessage[]; input: string; inputCallbackId?: string } {
  const rows = [...newestFirst].reverse();
  const inputRow = rows.pop();
  const history = rows.map((m) => ({
    actor: m.actor,
    text: m.text,
    citations: (m.citations ?? []).map((c) => ({
      url: c.url,
      title: c.display.title.type === 'COMMONMARK_TEXT' ? c.display.title.commonmark_text.text : '',
      attributes: c.display.attributes,
    })),
  }));
  return { history, input: inputRow?.text ?? '', ...(inputRow?.callback_id ? { inputCallbackId: inputRow.callback_id } : {}) };
}
