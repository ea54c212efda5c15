import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { forgetConversation } from '../../src/core/messages.ts';
import { ASSISTANT, BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

/** Message lists served from the in-memory cache of rendered messages (deps.messages) equal those served cold. */
describe('message list cache', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const get = (t: string, url: string) => s.parley.app.inject({ method: 'GET', url: `${BASE}${url}`, headers: s.headers(t) });
  const newConversation = async (t: string) =>
    (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id as string;
  const ask = async (t: string, conv: string, text: string) => {
    const r = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text } } });
    const id = r.json().response_id as string;
    await waitTerminal(s, t, conv, id);
    return id;
  };
  /** Every page of the conversation's messages, with its cursor, walking next_cursor from the start. */
  const walk = async (t: string, conv: string, limit: number) => {
    const pages: { messages: unknown[]; metadata: { next_cursor: string | null } }[] = [];
    let cursor: string | null = null;
    do {
      const r = await get(t, `/conversations/${conv}/messages?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(r.statusCode, 200);
      const page = r.json();
      pages.push(page);
      cursor = page.metadata.next_cursor;
    } while (cursor && pages.length < 50);
    return pages;
  };
  const caller = (sub: string) => ({ user: { id: sub } as never, assistant: ASSISTANT });
  const cached = (sub: string, conv: string) => s.parley.deps.messages.get(`${sub}\u0000${ASSISTANT}\u0000${conv}`);

  it('serves pages from memory equal to cold pages, across cached and uncached pages, with the same cursors', async () => {
    const sub = `cache-owner-${Date.now()}`;
    const t = await s.token({ sub });
    const conv = await newConversation(t);
    for (const q of ['one', 'two', 'three', 'four']) await ask(t, conv, `question ${q}`);

    const cold = await walk(t, conv, 3);
    assert.equal(cold.flatMap((p) => p.messages).length, 8);
    assert.equal(cached(sub, conv)?.messages.size, 8, 'the walk rendered and kept all eight messages');
    assert.deepEqual(await walk(t, conv, 3), cold, 'all pages from memory');

    // Only the first page cached: the walk mixes a cached page with uncached ones.
    forgetConversation(s.parley.deps, caller(sub), conv);
    const first = (await get(t, `/conversations/${conv}/messages?limit=3`)).json();
    assert.equal(cached(sub, conv)?.messages.size, 3);
    assert.deepEqual(first, cold[0]);
    assert.deepEqual(await walk(t, conv, 3), cold);

    // A different page size straddles cached and uncached messages; compare with a cold walk of that size.
    forgetConversation(s.parley.deps, caller(sub), conv);
    await get(t, `/conversations/${conv}/messages?limit=2`);
    const mixed = await walk(t, conv, 5);
    forgetConversation(s.parley.deps, caller(sub), conv);
    assert.deepEqual(mixed, await walk(t, conv, 5));
    assert.deepEqual(mixed.flatMap((p) => p.messages), cold.flatMap((p) => p.messages));

    // A new question after caching: the new messages appear at the top, the rest still come from memory.
    await ask(t, conv, 'question five');
    const top = (await get(t, `/conversations/${conv}/messages?limit=3`)).json();
    assert.equal(top.messages[1].content.plain_text.text, 'question five');
    assert.deepEqual(top.messages[2], cold[0]!.messages[0]);
  });

  it('cached messages really come from memory (the database sends only ids for them)', async () => {
    const sub = `cache-memory-${Date.now()}`;
    const t = await s.token({ sub });
    const conv = await newConversation(t);
    await ask(t, conv, 'original question');
    const warm = (await get(t, `/conversations/${conv}/messages`)).json();
    // Stored messages never change in Parley; changing one behind its back shows which copy is served.
    await s.parley.db.query(`UPDATE messages SET text = 'changed behind the cache' WHERE conversation_id = $1 AND actor = 'USER'`, [conv]);
    assert.deepEqual((await get(t, `/conversations/${conv}/messages`)).json(), warm);
    forgetConversation(s.parley.deps, caller(sub), conv);
    const cold = (await get(t, `/conversations/${conv}/messages`)).json();
    assert.equal(cold.messages[1].content.plain_text.text, 'changed behind the cache');
  });

  it('another user (or assistant) still gets 404 for a conversation whose messages are cached, and caches nothing', async () => {
    const sub = `cache-victim-${Date.now()}`;
    const t = await s.token({ sub });
    const conv = await newConversation(t);
    const resp = await ask(t, conv, 'private question');
    assert.equal((await get(t, `/conversations/${conv}/messages`)).statusCode, 200);
    assert.equal((await get(t, `/conversations/${conv}/responses/${resp}/messages`)).statusCode, 200);
    assert.ok(cached(sub, conv)?.responses.has(resp));

    const otherSub = `cache-other-${Date.now()}`;
    const other = await s.token({ sub: otherSub });
    for (const url of [`/conversations/${conv}/messages`, `/conversations/${conv}/responses/${resp}/messages`]) {
      const r = await get(other, url);
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.json().error.code, 'NOT_FOUND');
      const wrongAssistant = await s.parley.app.inject({ method: 'GET', url: `${BASE}${url}`, headers: s.headers(t, { 'assistant-name': 'another-assistant' }) });
      // An assistant this server does not serve is refused before any lookup; never the cached list.
      assert.ok([403, 404].includes(wrongAssistant.statusCode), `${url}: ${wrongAssistant.statusCode}`);
      assert.equal(wrongAssistant.json().messages, undefined);
    }
    assert.equal(cached(otherSub, conv), undefined, 'no cache entry is made for a 404');
  });

  it('response messages: cached equals cold; an unfinished response is not cached', async () => {
    const sub = `cache-resp-${Date.now()}`;
    const t = await s.token({ sub });
    const conv = await newConversation(t);
    const resp = await ask(t, conv, 'a finished question');
    const url = `/conversations/${conv}/responses/${resp}/messages`;
    const cold = (await get(t, url)).json();
    assert.deepEqual(cold.messages.map((m: { actor: string }) => m.actor), ['ASSISTANT', 'USER']);
    assert.deepEqual((await get(t, url)).json(), cold);
    forgetConversation(s.parley.deps, caller(sub), conv);
    assert.deepEqual((await get(t, url)).json(), cold);

    // A response still CREATED (held back by the database) lists its input only and is not kept.
    await s.parley.db.query(`UPDATE responses SET status = 'CREATED', completed_at = NULL WHERE id = $1`, [resp]);
    forgetConversation(s.parley.deps, caller(sub), conv);
    await get(t, url);
    assert.equal(cached(sub, conv)?.responses.has(resp), false);
    await s.parley.db.query(`UPDATE responses SET status = 'COMPLETED', completed_at = now() WHERE id = $1`, [resp]);
  });
});
