/** Checks of contract rules that a schema cannot state, on bodies already validated against the document. */
import { arr, obj, type Obj } from './runner.ts';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const cp = (s: string) => Array.from(s).length;

/** Contract §6 on one final assistant message: feedback callbacks; citations unique and all referenced; offsets ascending, in range. */
export function assistantMessageProblems(m: Obj): string[] {
  const problems: string[] = [];
  const id = String(m['message_id']);
  if (m['actor'] !== 'ASSISTANT') problems.push(`output message ${id} has actor ${String(m['actor'])}`);
  const content = obj(m['content']);
  if (content['type'] !== 'COMMONMARK_TEXT') problems.push(`assistant message ${id} has content type ${String(content['type'])}; expected COMMONMARK_TEXT`);
  const text = String(obj(content['commonmark_text'])['text'] ?? '');
  const fb = obj(m['feedback']);
  if (!str(obj(fb['helpful'])['callback_id']) || !str(obj(fb['unhelpful'])['callback_id'])) {
    problems.push(`assistant message ${id} lacks feedback.helpful/unhelpful callback ids`);
  }
  const citeIds = arr(m['citations']).map((c) => obj(c)['citation_id']);
  if (new Set(citeIds).size !== citeIds.length) problems.push(`assistant message ${id} repeats a citation_id`);
  const referenced = new Set<unknown>();
  let prev = -1;
  for (const ref of arr(m['content_references']).map(obj)) {
    const offset = ref['offset'];
    referenced.add(ref['citation_id']);
    if (!citeIds.includes(ref['citation_id'])) problems.push(`content_references names ${String(ref['citation_id'])}, which is not among the citations`);
    if (typeof offset === 'number') {
      if (offset < prev) problems.push(`content_references offsets are not ascending (${offset} after ${prev})`);
      if (offset < 0 || offset > cp(text)) problems.push(`content_reference offset ${offset} is outside the text (${cp(text)} code points)`);
      prev = offset;
    }
  }
  for (const c of citeIds) if (!referenced.has(c)) problems.push(`citation ${String(c)} is never referenced in content_references`);
  return problems;
}

/** Contract §4 on a COMPLETED response: completion time, reasoning before messages, sound assistant messages. */
export function completedProblems(resp: Obj): string[] {
  const problems: string[] = [];
  if (!str(resp['completed_at'])) problems.push('COMPLETED response has no completed_at');
  const outputs = arr(resp['outputs']).map(obj);
  const firstMessage = outputs.findIndex((o) => o['type'] === 'MESSAGE');
  if (firstMessage === -1) problems.push('COMPLETED response has no MESSAGE output');
  if (outputs.slice(firstMessage + 1).some((o) => o['type'] === 'REASONING_MESSAGE')) problems.push('a reasoning message comes after an assistant message in outputs');
  for (const o of outputs) if (o['type'] === 'MESSAGE') problems.push(...assistantMessageProblems(obj(o['message'])));
  return problems;
}

export function finalMessage(resp: Obj): Obj | undefined {
  const msgs = arr(resp['outputs']).map(obj).filter((o) => o['type'] === 'MESSAGE');
  const last = msgs[msgs.length - 1];
  return last ? obj(last['message']) : undefined;
}

export const ORDER = ['CREATED', 'IN_PROGRESS', 'COMPLETED'];
export const rank = (s: unknown) => (s === 'FAILED' ? 2 : ORDER.indexOf(String(s)));

/** Timestamps in a list: `desc` newest first, else oldest first (ties allowed). */
export function orderProblem(items: Obj[], field: string, desc: boolean, what: string): string | undefined {
  for (let i = 1; i < items.length; i++) {
    const a = Date.parse(String(items[i - 1]![field]));
    const b = Date.parse(String(items[i]![field]));
    if (desc ? b > a : b < a) return `${what} are not ${desc ? 'newest' : 'oldest'} first by ${field} (item ${i})`;
  }
  return undefined;
}
