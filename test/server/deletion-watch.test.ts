import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeletionWatch } from '../../src/core/deletion-watch.ts';
import { forgetConversations } from '../../src/core/deletion.ts';
import { getResponse } from '../../src/core/responses.ts';
import type { Db } from '../../src/store/db.ts';
import { ASSISTANT, BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

describe('deletion watch (what a node heard deleted)', () => {
  it('keeps tombstones within their bound and refuses fills from an older epoch', () => {
    let live = true;
    const w = new DeletionWatch(() => live, 60_000, 3);
    assert.equal(w.servesFromMemory('conv_a'), true);
    const e = w.epoch();
    for (const id of ['conv_a', 'conv_b', 'conv_c', 'conv_d']) w.deleted(id);
    // At most three kept: the oldest went first.
    assert.equal(w.isDeleted('conv_a'), false);
    assert.deepEqual(['conv_b', 'conv_c', 'conv_d'].map((id) => w.isDeleted(id)), [true, true, true]);
    assert.equal(w.servesFromMemory('conv_d'), false);
    assert.equal(w.mayStore(e, 'conv_d'), false, 'a deleted conversation is not cached again');
    assert.equal(w.mayStore(e, 'conv_x'), true);
    w.lost();
    assert.equal(w.mayStore(e, 'conv_x'), false, 'a read begun before notifications were missed stores nothing');
    assert.equal(w.mayStore(w.epoch(), 'conv_x'), true);
    live = false;
    assert.equal(w.servesFromMemory('conv_x'), false, 'without live notifications the database is asked');
  });
});

describe('cached reads of finished things', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const get = (t: string, url: string) => s.parley.app.inject({ method: 'GET', url: `${BASE}${url}`, headers: s.headers(t) });

  /** Runs `fn` with this server's core reads counted (deps.db wrapped; the database itself is shared by the suite). */
  async function counting<T>(fn: () => Promise<T>): Promise<{ out: T; statements: string[] }> {
    const deps = s.parley.deps;
    const real = deps.db;
    const statements: string[] = [];
    deps.db = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'query') return (sql: string, ...rest: unknown[]) => (statements.push(sql), (target.query as (...a: unknown[]) => unknown)(sql, ...rest));
        if (prop === 'tx') return (...a: unknown[]) => (statements.push('tx'), (target.tx as (...a: unknown[]) => unknown)(...a));
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Db;
    try {
      return { out: await fn(), statements };
    } finally {
      deps.db = real;
    }
  }

  async function finishedResponse(sub: string) {
    const t = await s.token({ sub });
    const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id as string;
    const created = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'hello' } } });
    const resp = created.json().response_id as string;
    await waitTerminal(s, t, conv, resp);
    return { t, conv, resp };
  }

  it('serves a finished response and its message list from memory alone once read', async () => {
    const { t, conv, resp } = await finishedResponse(`watch-${Date.now()}`);
    const urls = [`/conversations/${conv}/responses/${resp}`, `/conversations/${conv}/responses/${resp}/messages`];
    const cold = [];
    for (const u of urls) cold.push((await get(t, u)).json());
    assert.equal(s.parley.db.notificationsLive(), true, 'the server listens for deletions');
    const { out, statements } = await counting(async () => Promise.all(urls.map(async (u) => (await get(t, u)).json())));
    assert.deepEqual(out, cold);
    // Authentication may read (user or key lookups are cached elsewhere); the core reads must not.
    assert.deepEqual(statements.filter((q) => /\bconversations\b|\bresponses\b|\bmessages\b/.test(q)), [], statements.join('\n'));
  });

  it('serves a repeated message page from memory on the embedded database, and a new question and answer show at once, through any node', async () => {
    const sub = `watch-pages-${Date.now()}`;
    const { t, conv } = await finishedResponse(sub);
    const other = await startTestServer();
    try {
      const list = (srv: TestServer) => srv.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages?limit=20`, headers: srv.headers(t) });
      const first = (await list(s)).json();
      assert.equal(first.messages.length, 2);
      assert.equal((await list(other)).json().messages.length, 2, 'the other node has the page cached too');
      const { out, statements } = await counting(async () => (await list(s)).json());
      assert.deepEqual(out, first);
      assert.deepEqual(statements.filter((q) => /\bmessages\b/.test(q)), [], 'the page is not read again');
      const versions = statements.filter((q) => /xmin/.test(q));
      if (s.parley.db.kind === 'embedded') assert.deepEqual(versions, [], 'from memory alone');
      else assert.equal(versions.length, 1, 'PostgreSQL: one look at the conversation row\'s version');
      // A question asked and answered through the other node: both nodes list it at once.
      const asked = await other.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: other.headers(t), payload: { input: { text: 'and again' } } });
      assert.equal((await list(s)).json().messages.length, 3, 'the question shows as soon as it is stored');
      await waitTerminal(s, t, conv, asked.json().response_id as string);
      for (const srv of [s, other]) assert.equal((await list(srv)).json().messages.length, 4, 'the answer shows as soon as it is final');
    } finally {
      await other.close();
    }
  });

  it('does not cache what a read fetched for a conversation heard deleted while it read', async () => {
    const sub = `watch-race-${Date.now()}`;
    const { conv, resp } = await finishedResponse(sub);
    const caller = { user: { id: sub } as never, assistant: ASSISTANT };
    const key = `${sub}\u0000${ASSISTANT}\u0000${conv}\u0000${resp}`;
    s.parley.deps.finished.delete(key);
    // The read begins (its statement is in flight), then the deletion is heard, then the read ends.
    const reading = getResponse(s.parley.deps, caller, conv, resp);
    forgetConversations(s.parley.deps, [conv]);
    const read = await reading;
    assert.equal(read.status, 'COMPLETED');
    assert.equal(s.parley.deps.finished.get(key), undefined, 'not cached');
    // And a later read on this node asks the database (here the rows still exist: no deletion really ran).
    const { statements } = await counting(() => getResponse(s.parley.deps, caller, conv, resp));
    assert.ok(statements.length > 0);
  });
});
