import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testDb } from '../support/db.ts';
import { BASE, startTestServer, waitTerminal } from '../support/server.ts';

/** Correct under load: many questions at once, two competing workers, nothing lost, duplicated or reordered. */
describe('many responses, two workers', () => {
  it('answers every response exactly once, FIFO per conversation, with gap-free event logs', async () => {
    // Forty pollers at once would hit the per-user rate limit; this test is about the queue, not the limiter.
    const env = { RATE_LIMIT_MAX: '1000000' };
    const a = await startTestServer({ env });
    const b = await startTestServer({ env });
    try {
      const t = await a.token();
      const convs: string[] = [];
      for (let i = 0; i < 8; i++) {
        convs.push((await a.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: a.headers(t), payload: {} })).json().conversation_id);
      }
      // 40 questions fired concurrently, alternating nodes.
      const created = await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          const node = i % 2 ? b : a;
          const conv = convs[i % 8]!;
          return node.parley.app
            .inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: node.headers(t), payload: { input: { text: `q${i}` } } })
            .then((r) => ({ conv, id: r.json().response_id as string, status: r.statusCode }));
        }),
      );
      assert.ok(created.every((c) => c.status === 202));
      const done = await Promise.all(created.map((c) => waitTerminal(a, t, c.conv, c.id, 90000)));
      assert.ok(done.every((d) => d['status'] === 'COMPLETED'), 'every response completed');

      const db = await testDb();
      for (const conv of convs) {
        const rows = await db.query<{ id: string; completed_at: Date; assistant_messages: number }>(
          `SELECT r.id, r.completed_at,
                  (SELECT count(*)::int FROM messages m WHERE m.response_id = r.id AND m.actor = 'ASSISTANT') AS assistant_messages
           FROM responses r WHERE r.conversation_id = $1 ORDER BY r.pos`,
          [conv],
        );
        assert.equal(rows.length, 5);
        for (const r of rows) assert.equal(r.assistant_messages, 1, 'answered exactly once');
        for (let i = 1; i < rows.length; i++) {
          assert.ok(rows[i]!.completed_at >= rows[i - 1]!.completed_at, 'completed in creation order within the conversation');
        }
      }
      for (const c of created) {
        const seqs = (await db.query<{ seq: number }>(`SELECT seq FROM response_events WHERE response_id = $1 ORDER BY seq`, [c.id])).map((r) => r.seq);
        assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `gap-free log for ${c.id}`);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
