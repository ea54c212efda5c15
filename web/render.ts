import type { Citation, Message, ReasoningMessage, Rating } from 'parley/client';
import { h, safeUrl } from './dom.ts';
import { markdownToPlain, renderMarkdown, unplaced, withMarkers } from './markdown.ts';

export interface MessageActions {
  /** Posts the message's feedback callback; resolves when stored, rejects with the client's error. */
  rate(message: Message, rating: Rating, comment?: string): Promise<void>;
  /** How an error is told to the person (plain words and the trace id). */
  describe(err: unknown): string;
}

const textOf = (c: Message['content']): string => (c.type === 'COMMONMARK_TEXT' ? c.commonmark_text.text : c.plain_text.text);

const plain = (md: Message['content']): string => (md.type === 'COMMONMARK_TEXT' ? markdownToPlain(md.commonmark_text.text) : md.plain_text.text);

const isPerson = (c: Citation) => c.display.attributes.some((a) => a.key === 'EMAIL');
const label = (key: string) => key.charAt(0) + key.slice(1).toLowerCase().replace(/_/g, ' ');

export function userMessage(m: Message): HTMLElement {
  return h('article', { class: 'msg user', 'data-message-id': m.message_id, 'aria-label': 'You' }, h('p', { class: 'text' }, textOf(m.content)));
}

/** The reasoning steps of an answer, collapsed by default. */
export function reasoning(steps: ReasoningMessage[]): HTMLElement {
  return h(
    'details',
    { class: 'reasoning' },
    h('summary', {}, `Reasoning (${steps.length} ${steps.length === 1 ? 'step' : 'steps'})`),
    h('ol', {}, ...steps.map((s) => h('li', {}, textOf(s.content)))),
  );
}

/**
 * An assistant message from its latest snapshot: rendered whole each time (never appended to), so a resumed
 * stream that repeats a snapshot cannot duplicate text. `final` adds the feedback buttons.
 */
export function assistantBody(m: Message, final: boolean, actions: MessageActions): HTMLElement[] {
  const id = m.message_id;
  const citations = m.citations ?? [];
  const refs = m.content_references ?? [];
  // Numbered by first appearance in the text.
  const order: string[] = [];
  for (const r of refs) if (!order.includes(r.citation_id) && citations.some((c) => c.citation_id === r.citation_id)) order.push(r.citation_id);
  for (const c of citations) if (!order.includes(c.citation_id)) order.push(c.citation_id);
  const byId = new Map(citations.map((c) => [c.citation_id, c]));
  const numberOf = (citationId: string) => order.indexOf(citationId) + 1;
  const anchor = (n: number) => `src-${id}-${n}`;

  const marker = (i: number): Node => {
    const ref = refs[i]!;
    const c = byId.get(ref.citation_id);
    const n = numberOf(ref.citation_id);
    if (!c || n === 0) return document.createTextNode('');
    const tipId = `tip-${id}-${i}`;
    const passage = plain(c.display.body);
    return h(
      'span',
      { class: 'cite-wrap' },
      h('a', { class: 'cite', href: `#${anchor(n)}`, 'aria-describedby': tipId, 'aria-label': `Source ${n}` }, `[${n}]`),
      h('span', { class: 'tip', role: 'tooltip', id: tipId }, h('strong', {}, plain(c.display.title)), h('q', {}, passage)),
    );
  };
  const body = h('div', { class: 'text' });
  const frag = renderMarkdown(withMarkers(textOf(m.content), refs.map((r) => r.offset)), { marker });
  const missing = unplaced(frag, refs.length);
  body.append(frag);
  if (missing.length) body.append(h('p', {}, ...missing.map(marker)));

  const out: HTMLElement[] = [body];
  const docs = order.map((cid) => byId.get(cid)).filter((c): c is Citation => Boolean(c));
  if (docs.length) {
    out.push(
      h(
        'ol',
        { class: 'sources', 'aria-label': 'Sources' },
        ...docs.map((c) => {
          const n = numberOf(c.citation_id);
          const href = safeUrl(c.url);
          const title = plain(c.display.title);
          const titleNode = href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow' }, title) : h('span', {}, title);
          if (isPerson(c)) {
            return h(
              'li',
              { id: anchor(n), class: 'person-card', value: String(n) },
              h('span', { class: 'num' }, `${n}`),
              h('div', {}, titleNode, h('dl', {}, ...c.display.attributes.flatMap((a) => {
                const mail = a.key === 'EMAIL' ? safeUrl(`mailto:${a.value}`) : null;
                return [h('dt', {}, label(a.key)), h('dd', {}, mail ? h('a', { href: mail }, a.value) : a.value)];
              }))),
            );
          }
          return h('li', { id: anchor(n), value: String(n) }, titleNode, h('blockquote', {}, plain(c.display.body)));
        }),
      ),
    );
  }
  if (final && m.feedback) out.push(feedback(m, actions));
  return out;
}

function feedback(m: Message, actions: MessageActions): HTMLElement {
  const status = h('span', { class: 'fb-status', role: 'status' });
  const comment = h('input', { type: 'text', name: 'comment', maxlength: '1000', 'aria-label': 'Comment (optional)', placeholder: 'Add a comment (optional)' });
  const send = h('button', { type: 'submit' }, 'Send comment');
  const form = h('form', { class: 'fb-comment', hidden: true }, comment, send);
  let rating: Rating | null = null;
  const submit = async (r: Rating, text?: string) => {
    status.textContent = 'Sending…';
    try {
      await actions.rate(m, r, text);
      rating = r;
      for (const b of [helpful, unhelpful]) b.setAttribute('aria-pressed', String(b === (r === 'helpful' ? helpful : unhelpful)));
      status.textContent = text ? 'Thanks for the comment.' : 'Thanks for the feedback.';
      form.hidden = false;
    } catch (err) {
      status.textContent = actions.describe(err);
    }
  };
  const helpful = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Helpful');
  const unhelpful = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Not helpful');
  helpful.addEventListener('click', () => void submit('helpful'));
  unhelpful.addEventListener('click', () => void submit('unhelpful'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (rating && comment.value.trim()) void submit(rating, comment.value.trim());
  });
  return h('div', { class: 'feedback', role: 'group', 'aria-label': 'Was this answer helpful?' }, helpful, unhelpful, form, status);
}
