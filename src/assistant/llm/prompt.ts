/** The system prompt and the conversation, as the model sees them. */
import type { ModelMessage } from 'ai';
import type { AskingUser, HistoryMessage } from '../engine.ts';
import { truncateCodePoints } from '../text.ts';

// The context window is the model's, not ours: keep the recent part of long conversations.
const MAX_HISTORY_MESSAGES = 20;
const MAX_HISTORY_TEXT = 4000;

/** Instructions: answer from tool results only, cite as [n], say so when nothing is found. */
export function systemPrompt(assistant: string, user: AskingUser, now: Date, limits: { searches: number; rounds: number } = { searches: 8, rounds: 4 }): string {
  const who = [user.name, user.email && `<${user.email}>`].filter(Boolean).join(' ');
  return [
    `You are ${assistant}, the company's internal assistant. You answer employees' questions about the company: ` +
      'its policies, procedures and documents, and its people.',
    `Today is ${now.toISOString().slice(0, 10)}.${who ? ` The person asking is ${who}.` : ''}`,
    '',
    'Rules:',
    '- Use the tools to find facts: search_knowledge for documents and policies, lookup_person for people ' +
      '(role, department, email, manager, reports). Call them before answering.',
    '- Write your own search queries: short, in the words a policy or document would use. If a search finds ' +
      'nothing or only passages that do not answer the question, search again with different words (synonyms, ' +
      'the formal term, the likely title of the policy), or split a question about several things into several ' +
      `searches (you may make several tool calls at once). At most ${limits.searches} searches and lookups in ` +
      `all, over at most ${limits.rounds} rounds; then answer.`,
    '- Answer only from what the tools returned in this conversation. Do not use outside knowledge and do not guess.',
    '- Every tool result numbers its sources [1], [2], …. Cite the source of each statement by writing its number ' +
      'in square brackets right after the sentence or clause it supports, for example: ' +
      '"Passwords expire every 90 days.[1]" Cite two sources as [1][2]. Use only numbers that appear in tool results.',
    '- Do not add a list of sources or references at the end, and do not mention the tools.',
    '- If the tools found nothing that answers the question, say that you could not find it in the ' +
      'available knowledge, and suggest who or what might help if a tool result says so.',
    '- Answer in the language of the question, concisely, in CommonMark.',
  ].join('\n');
}

/** Earlier messages, oldest first, then the new input. Citations of earlier answers ride along as a note. */
export function conversationMessages(history: readonly HistoryMessage[], input: string): ModelMessage[] {
  const messages: ModelMessage[] = [];
  for (const m of history.slice(-MAX_HISTORY_MESSAGES)) {
    const text = truncateCodePoints(m.text, MAX_HISTORY_TEXT);
    if (m.actor === 'USER') {
      messages.push({ role: 'user', content: text });
    } else {
      messages.push({ role: 'assistant', content: text + sourcesNote(m) });
    }
  }
  messages.push({ role: 'user', content: input });
  return messages;
}

// So a follow-up ("what is her email?", "who approves that policy?") can be resolved from the last answer.
function sourcesNote(m: HistoryMessage): string {
  if (m.citations.length === 0) return '';
  const lines = m.citations.map((c) => {
    const attrs = c.attributes.map((a) => `${a.key}: ${a.value}`).join('; ');
    return `- ${c.title} (${c.url})${attrs ? ` — ${attrs}` : ''}`;
  });
  return `\n\n(Sources of this answer:\n${lines.join('\n')})`;
}
