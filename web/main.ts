import {
  AnswerStream,
  ParleyClient,
  UnauthorizedError,
  type Conversation,
  type Message,
  type ReasoningMessage,
} from 'parley/client';
import { h } from './dom.ts';
import { assistantBody, reasoning, userMessage, type MessageActions } from './render.ts';
import { describe, signInScreen } from './screens.ts';
import { loadSession, signInFromLink, signOut, type Session } from './session.ts';
import './style.css';

const assistant = document.querySelector<HTMLMetaElement>('meta[name="parley-assistant"]')?.content ?? '';
const root = document.getElementById('app')!;
/** How much history one conversation shows. */
const HISTORY_MAX = 200;

function chat(session: Session): void {
  const client = new ParleyClient({ token: () => session.token, assistant });
  let current: string | null = null;
  let conversations: Conversation[] = [];
  let answering = false;

  const list = h('ul', { class: 'convs' });
  const newButton = h('button', { type: 'button', class: 'new' }, '+ New conversation');
  const menu = h('button', { type: 'button', class: 'menu', 'aria-expanded': 'false', 'aria-controls': 'sidebar' }, 'Conversations');
  const sidebar = h('nav', { id: 'sidebar', 'aria-label': 'Conversations' }, newButton, list);
  const title = h('h2', { class: 'conv-title' }, 'New conversation');
  const log = h('div', { class: 'log', role: 'log', 'aria-label': 'Messages', tabindex: '0' });
  const alert = h('div', { class: 'error', role: 'alert' });
  const announce = h('div', { class: 'sr-only', role: 'status' });
  const box = h('textarea', { id: 'message', name: 'message', rows: '2', placeholder: 'Ask a question… (Enter sends, Shift+Enter for a new line)' });
  const send = h('button', { type: 'submit' }, 'Send');
  const stop = h('button', { type: 'button', class: 'stop', hidden: true }, 'Stop');
  const composer = h('form', { class: 'composer' }, h('label', { for: 'message', class: 'sr-only' }, 'Message'), box, send, stop);
  /** The answer being streamed, so Stop can cancel it. */
  let streaming: { conversationId: string; stream: AnswerStream; stopAsked: boolean } | null = null;
  const cancelStreaming = async () => {
    const s = streaming;
    if (!s) return;
    // Stop pressed before the server named the response: cancel as soon as the first event does.
    if (!s.stream.responseId) return void (s.stopAsked = true);
    try {
      await client.cancel({ conversationId: s.conversationId, responseId: s.stream.responseId });
    } catch (err) {
      showError(err);
    }
  };
  const out = h('button', { type: 'button', class: 'signout' }, 'Sign out');
  root.replaceChildren(
    h('a', { class: 'skip', href: '#message' }, 'Skip to the message box'),
    h('header', { class: 'top' }, menu, h('h1', {}, 'Parley'), h('span', { class: 'who' }, session.user.name ?? session.user.email ?? session.user.id), out),
    h('div', { class: 'layout' }, sidebar, h('main', {}, title, log, alert, composer, announce)),
  );

  const showError = (err: unknown) => {
    alert.textContent = describe(err);
    if (err instanceof UnauthorizedError) {
      signOut();
      signInScreen(describe(err));
    }
  };
  const actions: MessageActions = {
    rate: async (m, rating, comment) => {
      await client.rate(m, rating, comment);
    },
    describe,
  };

  const item = (c: Conversation): HTMLElement => {
    const name = c.title ?? 'Untitled conversation';
    const open = h('button', { type: 'button', class: 'open', 'aria-current': c.conversation_id === current ? 'page' : undefined }, name);
    const rename = h('button', { type: 'button', class: 'icon', 'aria-label': `Rename ${name}`, title: 'Rename' }, '✎');
    const archive = h('button', { type: 'button', class: 'icon', 'aria-label': `Archive ${name}`, title: 'Archive' }, '×');
    const li = h('li', {}, open, rename, archive);
    open.addEventListener('click', () => {
      location.hash = `#c=${c.conversation_id}`;
      sidebar.classList.remove('open');
      menu.setAttribute('aria-expanded', 'false');
    });
    rename.addEventListener('click', () => {
      const input = h('input', { type: 'text', value: name, 'aria-label': 'New title', maxlength: '256' });
      li.replaceChildren(input);
      input.focus();
      input.select();
      let done = false;
      const finish = async (save: boolean) => {
        if (done) return;
        done = true;
        const t = input.value.trim();
        if (save && t && t !== name) {
          try {
            Object.assign(c, await client.renameConversation(c.conversation_id, t));
          } catch (err) {
            showError(err);
          }
        }
        renderList();
        if (c.conversation_id === current) title.textContent = c.title ?? 'Untitled conversation';
        list.querySelector<HTMLButtonElement>(`li:nth-child(${conversations.indexOf(c) + 1}) .icon`)?.focus();
      };
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') void finish(true);
        if (e.key === 'Escape') void finish(false);
      });
      input.addEventListener('blur', () => void finish(true));
    });
    archive.addEventListener('click', async () => {
      try {
        await client.archiveConversation(c.conversation_id);
        conversations = conversations.filter((x) => x !== c);
        announce.textContent = `Archived ${name}.`;
        if (current === c.conversation_id) location.hash = '';
        renderList();
        newButton.focus();
      } catch (err) {
        showError(err);
      }
    });
    return li;
  };
  const renderList = () => list.replaceChildren(...conversations.map(item));

  /** Shows one answer as it streams: reasoning collapsed, the latest snapshot of each message, then feedback. */
  const follow = async (stream: AnswerStream, turn: HTMLElement) => {
    const steps: ReasoningMessage[] = [];
    const messages = new Map<string, Message>();
    const draw = (final: boolean) => {
      const parts: HTMLElement[] = [];
      if (steps.length) parts.push(reasoning(steps));
      for (const m of messages.values()) parts.push(...assistantBody(m, final, actions));
      if (!final) parts.push(h('p', { class: 'typing' }, messages.size ? '' : 'Thinking…'));
      const open = turn.querySelector('details')?.open;
      turn.replaceChildren(...parts);
      if (open) turn.querySelector('details')?.setAttribute('open', '');
    };
    turn.setAttribute('aria-busy', 'true');
    draw(false);
    streaming = current ? { conversationId: current, stream, stopAsked: false } : null;
    stop.hidden = false;
    try {
      for await (const ev of stream) {
        if (streaming?.stopAsked) {
          streaming.stopAsked = false;
          void cancelStreaming();
        }
        if (ev.event_type === 'RESPONSE_OUTPUT_DELTA') {
          if (ev.output.type === 'REASONING_MESSAGE') steps.push(ev.output.reasoning_message);
          else messages.set(ev.output.message.message_id, ev.output.message);
          draw(false);
        } else if (ev.event_type === 'RESPONSE_COMPLETED') {
          steps.length = 0;
          messages.clear();
          for (const o of ev.response.outputs) {
            if (o.type === 'REASONING_MESSAGE') steps.push(o.reasoning_message);
            else messages.set(o.message.message_id, o.message);
          }
          draw(true);
          announce.textContent = 'Answer complete.';
        } else if (ev.event_type === 'RESPONSE_FAILED') {
          draw(true);
          const e = ev.response.error;
          if (e?.code === 'CANCELLED') {
            turn.append(h('p', { class: 'note' }, 'You stopped this answer.'));
            announce.textContent = 'Answer stopped.';
          } else {
            turn.append(h('p', { class: 'error' }, `Parley could not answer this time: ${e?.message ?? 'unknown error'}. Try asking again.`));
            announce.textContent = 'The answer failed.';
          }
        }
      }
    } catch (err) {
      draw(true);
      showError(err);
    } finally {
      turn.removeAttribute('aria-busy');
      streaming = null;
      if (stop.contains(document.activeElement)) box.focus();
      stop.hidden = true;
    }
  };

  const assistantTurn = () => {
    const turn = h('article', { class: 'msg assistant', 'aria-label': 'Parley' });
    log.append(turn);
    return turn;
  };

  const refreshConversation = async (id: string) => {
    const c = await client.getConversation(id);
    const i = conversations.findIndex((x) => x.conversation_id === id);
    if (i >= 0) conversations.splice(i, 1);
    conversations.unshift(c);
    renderList();
    if (current === id) title.textContent = c.title ?? 'Untitled conversation';
  };

  const open = async (id: string | null) => {
    current = id;
    alert.textContent = '';
    log.replaceChildren();
    renderList();
    if (!id) {
      title.textContent = 'New conversation';
      return;
    }
    const c = conversations.find((x) => x.conversation_id === id);
    title.textContent = c?.title ?? 'Conversation';
    try {
      const newestFirst: Message[] = [];
      for await (const m of client.listMessages(id, { limit: 100 })) {
        newestFirst.push(m);
        if (newestFirst.length >= HISTORY_MAX) break;
      }
      if (current !== id) return;
      for (const m of newestFirst.reverse()) {
        if (m.actor === 'USER') log.append(userMessage(m));
        else assistantTurn().append(...assistantBody(m, true, actions));
      }
      // A question still being answered (the page was reloaded mid-answer): follow it to the end.
      const last = newestFirst.at(-1);
      if (last?.actor === 'USER') {
        answering = true;
        await follow(client.streamResponse({ conversationId: id, responseId: last.response_id }), assistantTurn());
        answering = false;
      }
      log.scrollTop = log.scrollHeight;
    } catch (err) {
      showError(err);
    }
  };

  const ask = async (text: string) => {
    answering = true;
    send.disabled = true;
    alert.textContent = '';
    try {
      if (!current) {
        const c = await client.createConversation();
        conversations.unshift(c);
        current = c.conversation_id;
        history.replaceState(null, '', `#c=${current}`);
        renderList();
      }
      const id = current;
      log.append(h('article', { class: 'msg user', 'aria-label': 'You' }, h('p', { class: 'text' }, text)));
      await follow(client.ask(id, text), assistantTurn());
      await refreshConversation(id);
    } catch (err) {
      showError(err);
    } finally {
      answering = false;
      send.disabled = false;
    }
  };

  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = box.value.trim();
    if (!text || answering) return;
    box.value = '';
    void ask(text);
  });
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  stop.addEventListener('click', () => void cancelStreaming());
  newButton.addEventListener('click', () => {
    history.pushState(null, '', location.pathname);
    void open(null);
    box.focus();
  });
  menu.addEventListener('click', () => {
    const openNow = sidebar.classList.toggle('open');
    menu.setAttribute('aria-expanded', String(openNow));
  });
  out.addEventListener('click', () => {
    signOut();
    signInScreen('You are signed out.');
  });
  const route = () => {
    const m = /^#c=(conv_[0-9A-Za-z]+)$/.exec(location.hash);
    void open(m ? m[1]! : null);
  };
  window.addEventListener('hashchange', route);

  void (async () => {
    try {
      for await (const c of client.listConversations({ limit: 100 })) {
        conversations.push(c);
        if (conversations.length >= 200) break;
      }
    } catch (err) {
      showError(err);
    }
    route();
  })();
  box.focus();
}

async function start(): Promise<void> {
  const linked = await signInFromLink();
  if (linked && 'error' in linked) return signInScreen(linked.error);
  const session = linked ?? loadSession();
  if (!session) return signInScreen();
  chat(session);
}

void start();
