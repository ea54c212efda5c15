import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Engine, EngineEvent, EngineRequest } from '../../src/assistant/engine.ts';
import { NotifyHub } from '../../src/jobs/hub.ts';
import { Worker } from '../../src/jobs/worker.ts';
import { DatabaseUnavailableError } from '../../src/store/db.ts';
import { testDb } from '../support/db.ts';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';
import { ScriptedEngine } from '../support/scripted-engine.ts';

/** The scripted answer up to its first message snapshot; then it "dies": it waits for `kill`, then throws. */
class DyingEngine implements Engine {
  readonly name = 'dying';
  private readonly inner = new ScriptedEngine();
  private wrote!: () => void;
  readonly partialWritten = new Promise<void>((resolve) => (this.wrote = resolve));
  private die!: () => void;
  private readonly killed = new Promise<void>((resolve) => (this.die = resolve));

  kill(): void {
    this.die();
  }

  async *answer(req: EngineRequest): AsyncIterable<EngineEvent> {
    for await (const ev of this.inner.answer(req)) {
      yield ev;
      // Resumed only once the worker has recorded `ev`.
      if (ev.type === 'message') {
        this.wrote();
        await this.killed;
        throw new Error('worker died');
      }
    }
  }
}

interface Delta {
  event_type: string;
  output?: { type: string; message?: { message_id: string; content: unknown }; reasoning_message?: { reasoning_message_id: string } };
  response?: { outputs: { type: string; message?: { message_id: string } }[] };
}

/** A response retried after its worker died keeps the ids of its outputs, and is logged IN_PROGRESS once. */
describe('ids of a retried answer', () => {
  let api: TestServer;
  before(async () => {
    // HTTP only: nothing answers until the test says so.
    api = await startTestServer({ worker: false });
  });
  after(() => api.close());

  const create = async (t: string) => {
    const conv = (await api.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: api.headers(t), payload: {} })).json().conversation_id as string;
    const r = await api.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: api.headers(t), payload: { input: { text: 'stable ids' } } });
    return { conv, id: r.json().response_id as string };
  };

  /** Claims responses until `target` (handing the others straight back) with a worker running `engine`. */
  const claimTarget = async (worker: Worker, target: string) => {
    const db = await testDb();
    for (let i = 0; i < 50; i++) {
      const row = await worker.claim();
      if (!row) break;
      if (row.id === target) return row;
      await db.query(`UPDATE responses SET lease_until = now() - interval '1 second' WHERE id = $1`, [row.id]);
    }
    throw new Error('could not claim the target response');
  };

  const eventLog = async (id: string): Promise<Delta[]> => {
    const db = await testDb();
    const rows = await db.query<{ data: string }>(`SELECT data FROM response_events WHERE response_id = $1 ORDER BY seq`, [id]);
    return rows.map((r) => JSON.parse(r.data) as Delta);
  };

  it('a retry after a worker died mid-answer writes under the dead attempt\'s ids', async () => {
    const t = await api.token();
    const { conv, id } = await create(t);
    const db = await testDb();
    const dying = new DyingEngine();
    const dead = new Worker(api.parley.deps, dying, new NotifyHub(db, 'parley_jobs'), pino({ level: 'silent' }));
    const row = await claimTarget(dead, id);
    // Runs the first attempt as the worker loop would (the method is private to the class, not to the process).
    const attempt = (dead as unknown as { process(r: typeof row): Promise<void> }).process(row);
    await dying.partialWritten;
    // The worker dies: its lease is gone (as after kill -9 and the lease running out), so nothing it still tries
    // to write lands.
    await db.query(`UPDATE responses SET lease_owner = 'dead', lease_until = now() - interval '1 second' WHERE id = $1`, [id]);
    dying.kill();
    await attempt;
    const partial = await eventLog(id);
    assert.ok(partial.some((e) => e.output?.type === 'MESSAGE'), 'the dead attempt streamed a partial message');

    const rescuer = await startTestServer();
    try {
      const done = await waitTerminal(api, t, conv, id);
      assert.equal(done['status'], 'COMPLETED');
    } finally {
      await rescuer.close();
    }
    const log = await eventLog(id);
    const final = log.at(-1)!;
    assert.equal(final.event_type, 'RESPONSE_COMPLETED');
    const finalIds = final.response!.outputs.filter((o) => o.type === 'MESSAGE').map((o) => o.message!.message_id);
    assert.equal(finalIds.length, 1);
    const snapshotIds = new Set(log.flatMap((e) => (e.output?.type === 'MESSAGE' ? [e.output.message!.message_id] : [])));
    assert.deepEqual([...snapshotIds], finalIds, 'every snapshot, the dead attempt\'s included, has the final message id');
    const reasoningIds = new Set(log.flatMap((e) => (e.output?.type === 'REASONING_MESSAGE' ? [e.output.reasoning_message!.reasoning_message_id] : [])));
    assert.equal(reasoningIds.size, 1, 'the reasoning message of both attempts has one id');
    assert.equal(log.filter((e) => e.event_type === 'RESPONSE_IN_PROGRESS').length, 1);
    // The stored answer is the one the stream ended with.
    const messages = (await api.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages`, headers: api.headers(t) })).json().messages;
    assert.deepEqual(
      messages.filter((m: { actor: string }) => m.actor === 'ASSISTANT').map((m: { message_id: string }) => m.message_id),
      finalIds,
    );
  });

  it('RESPONSE_IN_PROGRESS is logged by the first attempt that starts, also when the first claim died at once', async () => {
    const t = await api.token();
    const { conv, id } = await create(t);
    const db = await testDb();
    const dead = new Worker(api.parley.deps, new ScriptedEngine(), new NotifyHub(db, 'parley_jobs'), pino({ level: 'silent' }));
    const row = await claimTarget(dead, id);
    assert.equal(row.attempts, 1);
    // Died between its claim and its first write.
    await db.query(`UPDATE responses SET lease_until = now() - interval '1 second' WHERE id = $1`, [id]);
    const rescuer = await startTestServer();
    try {
      assert.equal((await waitTerminal(api, t, conv, id))['status'], 'COMPLETED');
    } finally {
      await rescuer.close();
    }
    const types = (await eventLog(id)).map((e) => e.event_type);
    assert.deepEqual(types.slice(0, 2), ['RESPONSE_CREATED', 'RESPONSE_IN_PROGRESS']);
    assert.equal(types.filter((x) => x === 'RESPONSE_IN_PROGRESS').length, 1);
  });

  it('an answer whose database connection died is handed back and resumed at once, not failed', async () => {
    const t = await api.token();
    const { conv, id } = await create(t);
    // The first attempt loses its connection after a partial answer (as the Db seam reports it after retries).
    let calls = 0;
    const inner = new ScriptedEngine();
    const flaky: Engine = {
      name: 'flaky',
      async *answer(req) {
        calls++;
        for await (const ev of inner.answer(req)) {
          yield ev;
          if (calls === 1 && ev.type === 'message') throw new DatabaseUnavailableError(new Error('Connection terminated unexpectedly'));
        }
      },
    };
    const started = Date.now();
    const node = await startTestServer({ engine: flaky });
    try {
      assert.equal((await waitTerminal(api, t, conv, id, 20_000))['status'], 'COMPLETED');
    } finally {
      await node.close();
    }
    // Resumed without waiting out the 30 s lease.
    assert.ok(Date.now() - started < 20_000);
    const db = await testDb();
    const [row] = await db.query<{ attempts: number }>(`SELECT attempts FROM responses WHERE id = $1`, [id]);
    assert.equal(row!.attempts, 2, 'a second attempt answered it');
    const types = (await eventLog(id)).map((e) => e.event_type);
    assert.equal(types.includes('RESPONSE_FAILED'), false);
    assert.equal(types.filter((x) => x === 'RESPONSE_IN_PROGRESS').length, 1);
  });
});
