import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBatcher } from '../../src/core/create-batch.ts';
import { createResponse } from '../../src/core/responses.ts';
import { EmbeddedWorkerDb } from '../../src/store/embedded.ts';
import { ASSISTANT, BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

/**
 * Questions asked at the same moment are stored together (src/core/create-batch.ts: one statement, one commit):
 * each still gets its own response, message and event, in its own conversation's order, and a question in someone
 * else's conversation is 404 without failing the others stored with it.
 */
describe('questions stored together', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const post = (t: string, url: string, payload: unknown) => s.parley.app.inject({ method: 'POST', url: `${BASE}${url}`, headers: s.headers(t), payload: payload as object });

  it('stores many concurrent questions, several per conversation, each answered in order; a stranger gets 404', async () => {
    const t = await s.token();
    const stranger = await s.token();
    const convs: string[] = [];
    for (let i = 0; i < 6; i++) convs.push((await post(t, '/conversations', {})).json().conversation_id as string);
    // Three questions per conversation, all at once, plus strangers' questions in the same conversations.
    const stats = createBatcher(s.parley.db).stats;
    const before = { ...stats };
    const asked = await Promise.all(
      convs.flatMap((c) => [
        ...[1, 2, 3].map(async (n) => ({ c, n, r: await post(t, `/conversations/${c}/responses`, { input: { text: `question ${n} in ${c}` } }) })),
        (async () => ({ c, n: 0, r: await post(stranger, `/conversations/${c}/responses`, { input: { text: 'not mine' } }) }))(),
      ]),
    );
    for (const { n, r } of asked) assert.equal(r.statusCode, n === 0 ? 404 : 202, r.body);
    assert.equal(stats.stored - before.stored, 18);
    // PGlite in process (PARLEY_EMBEDDED_THREAD=false) holds the event loop per statement: each question reaches the
    // batcher after the previous one is stored, so there is nothing to put together.
    if (s.parley.db.kind === 'postgres' || s.parley.db instanceof EmbeddedWorkerDb) {
      assert.ok(stats.statements - before.statements < 18, `stored together: ${stats.statements - before.statements} statements for 18 questions`);
    }
    for (const { r } of asked.filter((a) => a.n > 0)) {
      const body = r.json();
      assert.equal(body.status, 'CREATED');
      await waitTerminal(s, t, body.conversation_id, body.response_id, 30000);
    }
    for (const c of convs) {
      const list = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${c}/messages?limit=20`, headers: s.headers(t) });
      const users = (list.json().messages as { actor: string; text?: string; content?: { text?: string } }[]).filter((m) => m.actor === 'USER');
      assert.equal(users.length, 3, `three questions stored in ${c}`);
      // Concurrent HTTP requests reach the store in no set order: all three are there.
      const texts = users.map((m) => JSON.stringify(m)).map((j) => /question (\d)/.exec(j)?.[1]);
      assert.deepEqual([...texts].sort(), ['1', '2', '3']);
      const rows = await s.parley.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM response_events e JOIN responses r ON r.id = e.response_id WHERE r.conversation_id = $1 AND e.seq = 1 AND e.event_type = 'RESPONSE_CREATED'`,
        [c],
      );
      assert.equal(rows[0]!.n, 3);
    }
  });

  it('keeps the order in which the questions of one conversation reached it', async () => {
    const sub = `batch-order-${Date.now()}`;
    const t = await s.token({ sub });
    const convs: string[] = [];
    for (let i = 0; i < 3; i++) convs.push((await post(t, '/conversations', {})).json().conversation_id as string);
    const caller = { user: { id: sub, email: null, groups: [] } as never, assistant: ASSISTANT };
    // Not awaited one by one: they reach the batcher in this order, and go out in two or more statements.
    const made = await Promise.all(convs.flatMap((c) => [1, 2, 3, 4].map((n) => createResponse(s.parley.deps, caller, c, `question ${n}`))));
    assert.equal(made.length, 12);
    for (const c of convs) {
      const rows = await s.parley.db.query<{ text: string }>(`SELECT text FROM messages WHERE conversation_id = $1 AND actor = 'USER' ORDER BY pos`, [c]);
      assert.deepEqual(rows.map((r) => r.text), ['question 1', 'question 2', 'question 3', 'question 4']);
    }
  });
});
