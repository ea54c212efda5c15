import type { Message, MessageBeta, OutputItem, OutputItemBeta, Response, ResponseBeta } from '../../protocol/schemas.ts';
import { callbackLabelOf } from '../../actions/tokens.ts';

/**
 * The BETA dialect's shapes from the core's (V1's) ones (contract §1: a dialect only translates). BETA has no
 * `actions` on messages and no `CALLBACK_ACTION_CONTENT`: a callback the user sent through V1 reads there as the
 * plain text of the button they pressed. Objects are copied, never changed: rendered messages are cached and
 * shared by both dialects.
 */
export function betaMessage(m: Message): MessageBeta {
  const { actions: _actions, content, ...rest } = m;
  if (content.type === 'CALLBACK_ACTION_CONTENT') {
    return { ...rest, content: { type: 'PLAIN_TEXT', plain_text: { text: callbackLabelOf(content.callback_action.callback_id) } } };
  }
  return { ...rest, content };
}

export function betaOutput(o: OutputItem): OutputItemBeta {
  return o.type === 'MESSAGE' ? { type: 'MESSAGE', message: betaMessage(o.message) } : o;
}

export function betaResponse(r: Response): ResponseBeta {
  return { ...r, outputs: r.outputs.map(betaOutput) };
}

/**
 * An SSE frame's data for the BETA dialect. Only frames whose message carries actions differ (user messages are
 * never streamed), so the rest pass untouched without being parsed.
 */
export function betaFrameData(data: string): string {
  if (!data.includes('"actions":')) return data;
  const ev = JSON.parse(data) as { output?: OutputItem; response?: Response };
  if (ev.output) ev.output = betaOutput(ev.output) as OutputItem;
  if (ev.response) ev.response = betaResponse(ev.response) as Response;
  return JSON.stringify(ev);
}
