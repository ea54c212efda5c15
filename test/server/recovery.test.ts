import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Worker } from '../../src/jobs/worker.ts';
import { NotifyHub } from '../../src/jobs/hub.ts';
import { testDb } from '../support/db.ts';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';
import { ScriptedEngine } from '../support/scripted-engine.ts';

/** A worker that dies mid-answer loses nothing: another takes the response over when the lease runs out. */
describe('crash recovery', () => {
  let api: TestServer;
  before(async () => {
    // HTTP only: nothing answers until the test says so.
    api = await startTestServer({ worker: false });
  });
  after(() => api.close());

  const create = async (t: string) => {
    const conv = (await api.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: api.headers(t), payload: {} })).json().conversation_id as string;
    const id = (await api.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: api.headers(t), payload: { input: { text: 'survive' } } })).json()
      .response_id as string;
    return { conv, id };
  };
  /** Claims the oldest claimable response and "crashes": the lease is simply left to expire. */
  const claimAndDie = async (target: string) => {
    const db = await testDb();
    const dead = new Worker(api.parley.deps, new ScriptedEngine(), new NotifyHub(db, 'parley_jobs'), pino({ level: 'silent' }));
    for (let i = 0; i < 50; i++) {
      const row = await dead.claim();
      if (!row) break;
      await db.query(`UPDATE responses SET lease_until = now() - interval '1 second' WHERE id = $1`, [row.id]);
      if (row.id === target) return row;
    }
    throw new Error('could not claim the target response');
  };

  it('a response abandoned by a dead worker is answered by the next one, once', async () => {
    const t = await api.token();
    const { conv, id } = await create(t);
    const claimed = await claimAndDie(id);
    assert.equal(claimed.attempts, 1);
    const mid = (await api.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/responses/${id}`, headers: api.headers(t) })).json();
    assert.equal(mid.status, 'IN_PROGRESS');
    const rescuer = await startTestServer();
    try {
      const done = await waitTerminal(api, t, conv, id);
      assert.equal(done['status'], 'COMPLETED');
      const msgs = (await api.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages`, headers: api.headers(t) })).json().messages;
      assert.deepEqual(msgs.map((m: { actor: string }) => m.actor), ['ASSISTANT', 'USER'], 'answered exactly once');
    } finally {
      await rescuer.close();
    }
  });

  it('a response whose workers keep dying ends FAILED instead of hanging', async () => {
    const t = await api.token();
    const { conv, id } = await create(t);
    const db = await testDb();
    for (let i = 0; i < api.parley.config.responses.maxAttempts; i++) await claimAndDie(id);
    const [row] = await db.query<{ attempts: number }>(`SELECT attempts FROM responses WHERE id = $1`, [id]);
    assert.equal(row!.attempts, 3);
    const reaped = await api.parley.worker.reap();
    assert.ok(reaped >= 1);
    const done = await waitTerminal(api, t, conv, id);
    assert.equal(done['status'], 'FAILED');
    assert.equal((done['error'] as { code: string }).code, 'WORKER_LOST');
    const events = (await db.query<{ event_type: string }>(`SELECT event_type FROM response_events WHERE response_id = $1 ORDER BY seq`, [id])).map((e) => e.event_type);
    assert.equal(events.at(-1), 'RESPONSE_FAILED', 'the stream learns of it too');
  });
});
