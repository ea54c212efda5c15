import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { compactEventLogs, purgeIdleConversations } from '../../src/core/retention.ts';
import { deleteUser, exportUser } from '../../src/core/user-data.ts';
import { ScriptedEngine } from '../support/scripted-engine.ts';
import { uniq } from '../support/db.ts';
import { BASE, parseSse, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

const V1 = '/assistant/v1';

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Rows stored under a conversation, table by table (what a deletion must leave at zero). */
async function footprint(s: TestServer, conv: string, userId: string): Promise<Record<string, number>> {
  const q = async (sql: string, params: unknown[] = [conv]) => Number((await s.parley.db.query<{ n: string | number }>(sql, params))[0]!.n);
  return {
    conversations: await q(`SELECT count(*) AS n FROM conversations WHERE id = $1`),
    responses: await q(`SELECT count(*) AS n FROM responses WHERE conversation_id = $1`),
    messages: await q(`SELECT count(*) AS n FROM messages WHERE conversation_id = $1`),
    events: await q(`SELECT count(*) AS n FROM response_events WHERE response_id LIKE 'resp_%' AND response_id IN (SELECT id FROM responses WHERE conversation_id = $1)`),
    orphan_events: await q(`SELECT count(*) AS n FROM response_events e WHERE NOT EXISTS (SELECT 1 FROM responses r WHERE r.id = e.response_id)`, []),
    conversation_events: await q(`SELECT count(*) AS n FROM conversation_events WHERE conversation_id = $1`),
    feedback: await q(`SELECT count(*) AS n FROM feedback WHERE user_id = $1`, [userId]),
    idempotency: await q(`SELECT count(*) AS n FROM idempotency_keys WHERE user_id = $1`, [userId]),
  };
}

describe('DELETE /conversations/{id} (extension)', () => {
  let a: TestServer;
  let b: TestServer;
  let engine: ScriptedEngine;
  let port: number;
  before(async () => {
    engine = new ScriptedEngine();
    // Two nodes on one database: A serves HTTP only, B answers. Each has its own in-memory caches.
    a = await startTestServer({ worker: false, env: { RESPONSE_TIMEOUT_SECONDS: '60' } });
    b = await startTestServer({ engine, env: { RESPONSE_TIMEOUT_SECONDS: '60' } });
    await a.parley.app.listen({ host: '127.0.0.1', port: 0 });
    port = (a.parley.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  const call = (s: TestServer, t: string, method: 'GET' | 'POST' | 'DELETE' | 'PATCH', url: string, payload?: unknown, extra: Record<string, string> = {}) =>
    s.parley.app.inject({ method, url, headers: s.headers(t, extra), ...(payload === undefined ? {} : { payload: payload as object }) });

  /** A conversation with one answered question, feedback on the answer, and idempotency rows for both creates. */
  async function populated(s: TestServer, t: string, base: string) {
    const conv = (await call(s, t, 'POST', `${base}/conversations`, {}, { 'idempotency-key': uniq('ck') })).json().conversation_id as string;
    const created = await call(s, t, 'POST', `${base}/conversations/${conv}/responses`, { input: { text: 'hello' } }, { 'idempotency-key': uniq('rk') });
    assert.equal(created.statusCode, 202);
    const resp = created.json().response_id as string;
    const body = await waitTerminal(s, t, conv, resp);
    const msg = (body['outputs'] as { type: string; message: { message_id: string; feedback: { helpful: { callback_id: string } } } }[]).find((o) => o.type === 'MESSAGE')!.message;
    // On the node that answered: on the embedded database each test node has its own signing key.
    const fb = await call(b, t, 'POST', `${base}/conversations/${conv}/responses/${resp}/messages/${msg.message_id}/feedback`, { callback_id: msg.feedback.helpful.callback_id });
    assert.equal(fb.statusCode, 200, fb.body);
    return { conv, resp, msg: msg.message_id };
  }

  for (const base of [BASE, V1]) {
    it(`removes the conversation and everything under it (${base}); 204 for the owner, 404 for anyone else`, async () => {
      const sub = uniq('deleter');
      const t = await a.token({ sub });
      const { conv, resp } = await populated(a, t, base);
      const before = await footprint(a, conv, sub);
      assert.ok(before.responses === 1 && before.messages === 2 && (before.events ?? 0) >= 3 && before.feedback === 1 && before.idempotency === 2, JSON.stringify(before));

      const stranger = await a.token();
      const denied = await call(a, stranger, 'DELETE', `${base}/conversations/${conv}`);
      assert.equal(denied.statusCode, 404);
      assert.equal(denied.json().error.code, 'NOT_FOUND');
      assert.equal((await call(a, t, 'GET', `${base}/conversations/${conv}`)).statusCode, 200, 'a stranger\'s delete changed nothing');

      // Many clients send a JSON content type on every call: a DELETE without a body is still fine.
      const r = await call(a, t, 'DELETE', `${base}/conversations/${conv}`, undefined, { 'content-type': 'application/json' });
      assert.equal(r.statusCode, 204, r.body);
      assert.equal(r.body, '');
      assert.ok(r.headers['x-moveworks-root-uuid']);
      const afterDelete = await footprint(a, conv, sub);
      assert.deepEqual(afterDelete, { conversations: 0, responses: 0, messages: 0, events: 0, orphan_events: 0, conversation_events: 0, feedback: 0, idempotency: 0 });

      for (const url of [`/conversations/${conv}`, `/conversations/${conv}/messages`, `/conversations/${conv}/responses/${resp}`, `/conversations/${conv}/responses/${resp}/messages`]) {
        const g = await call(a, t, 'GET', `${base}${url}`);
        assert.equal(g.statusCode, 404, url);
        assert.equal(g.json().error.code, 'NOT_FOUND');
      }
      const again = await call(a, t, 'DELETE', `${base}/conversations/${conv}`);
      assert.equal(again.statusCode, 404, 'a second delete finds nothing');
      const events = (await call(a, t, 'GET', `${base}/conversations/-/events`)).json().events as { message: { conversation_id: string } }[];
      assert.ok(!events.some((e) => JSON.stringify(e).includes(conv)), 'its events are gone from the all-conversations list');
      assert.equal((await call(a, t, 'DELETE', `${base}/conversations/conv_nope`)).statusCode, 404);
    });
  }

  it('is described in both dialects\' OpenAPI documents, with the admin webhook endpoints', async () => {
    for (const url of ['/openapi.json', '/openapi.json?dialect=v1']) {
      const doc = (await a.parley.app.inject({ method: 'GET', url })).json();
      const op = doc.paths['/conversations/{conversation_id}'].delete;
      assert.equal(op.operationId, 'delete-conversation');
      assert.match(op.summary, /extension/);
      assert.deepEqual(Object.keys(op.responses).sort(), ['204', '400', '401', '403', '404', '429', '500']);
      assert.equal(op.responses['204'].content, undefined);
      assert.ok(op.parameters.some((p: { name: string; required: boolean }) => p.name === 'Assistant-Name' && p.required));
      const admin: [string, string][] = [['/admin/v1/webhooks', 'post'], ['/admin/v1/webhooks/{webhook_id}', 'delete'], ['/admin/v1/webhooks/{webhook_id}/deliveries', 'get'], ['/admin/v1/webhooks/{webhook_id}/rotate-secret', 'post']];
      for (const [path, method] of admin) {
        assert.ok(doc.paths[path]?.[method]?.summary, `${method} ${path}`);
      }
    }
  });

  it('another node cannot serve a deleted conversation from its memory', async () => {
    const sub = uniq('cached');
    const t = await a.token({ sub });
    const { conv, resp } = await populated(b, t, BASE);
    // Warm B's caches: the finished response, its message list, the conversation's message pages.
    for (let i = 0; i < 2; i++) {
      assert.equal((await call(b, t, 'GET', `${BASE}/conversations/${conv}/responses/${resp}`)).statusCode, 200);
      assert.equal((await call(b, t, 'GET', `${BASE}/conversations/${conv}/responses/${resp}/messages`)).statusCode, 200);
      assert.equal((await call(b, t, 'GET', `${BASE}/conversations/${conv}/messages`)).statusCode, 200);
    }
    assert.ok(b.parley.deps.messages.get(`${sub}\u0000${b.parley.config.assistants[0]!.name}\u0000${conv}`), 'B has the conversation cached');

    assert.equal((await call(a, t, 'DELETE', `${BASE}/conversations/${conv}`)).statusCode, 204);
    // At once, whether or not B has heard the deletion yet.
    assert.equal((await call(b, t, 'GET', `${BASE}/conversations/${conv}/responses/${resp}`)).statusCode, 404);
    assert.equal((await call(b, t, 'GET', `${BASE}/conversations/${conv}/responses/${resp}/messages`)).statusCode, 404);
    assert.equal((await call(b, t, 'GET', `${BASE}/conversations/${conv}/messages`)).statusCode, 404);
    // And B forgets the entry (the deletion's notification reaches every node).
    await until('B forgets the conversation', () => !b.parley.deps.messages.get(`${sub}\u0000${b.parley.config.assistants[0]!.name}\u0000${conv}`));
  });

  it('cancels a response being answered on another node first: its engine stops and its stream ends', async () => {
    const t = await a.token();
    const conv = (await call(a, t, 'POST', `${BASE}/conversations`, {})).json().conversation_id as string;
    const resp = (await call(a, t, 'POST', `${BASE}/conversations/${conv}/responses`, { input: { text: 'hang' } })).json().response_id as string;
    await until('B starts answering', () => engine.seen.some((r) => r.responseId === resp));
    const seen = engine.seen.find((r) => r.responseId === resp)!;
    const stream = fetch(`http://127.0.0.1:${port}${BASE}/conversations/${conv}/responses/${resp}/stream`, {
      headers: a.headers(t),
      signal: AbortSignal.timeout(15000),
    }).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await call(a, t, 'DELETE', `${BASE}/conversations/${conv}`)).statusCode, 204);
    await until('the engine on B is aborted', () => seen.signal.aborted);
    const { events } = parseSse(await stream);
    assert.equal(events.at(-1)?.event, 'RESPONSE_FAILED', 'the open stream got the terminal event and closed');
    assert.equal(JSON.parse(events.at(-1)!.data!).response.error.code, 'CANCELLED');
    assert.equal((await call(a, t, 'GET', `${BASE}/conversations/${conv}/responses/${resp}`)).statusCode, 404);
    // A retried create with the deleted conversation's idempotency key finds no conversation rather than a replay.
    assert.equal((await call(a, t, 'POST', `${BASE}/conversations/${conv}/responses`, { input: { text: 'again' } })).statusCode, 404);
  });
});

describe('retention and event-log compaction', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const call = (t: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
    s.parley.app.inject({ method, url, headers: s.headers(t), ...(payload === undefined ? {} : { payload: payload as object }) });
  const converse = async (t: string, text = 'hello') => {
    const conv = (await call(t, 'POST', `${BASE}/conversations`, {})).json().conversation_id as string;
    const resp = (await call(t, 'POST', `${BASE}/conversations/${conv}/responses`, { input: { text } })).json().response_id as string;
    await waitTerminal(s, t, conv, resp);
    return { conv, resp };
  };
  const eventTypes = async (resp: string) =>
    (await s.parley.db.query<{ event_type: string }>(`SELECT event_type FROM response_events WHERE response_id = $1 ORDER BY seq`, [resp])).map((r) => r.event_type);
  /** Moves a conversation's clock back by `hours`: its last update and its responses' completion. */
  const age = async (conv: string, hours: number) => {
    await s.parley.db.query(`UPDATE conversations SET updated_at = updated_at - make_interval(hours => $2) WHERE id = $1`, [conv, hours]);
    await s.parley.db.query(`UPDATE responses SET completed_at = completed_at - make_interval(hours => $2) WHERE conversation_id = $1`, [conv, hours]);
  };

  it('keeps an event log younger than 24 h intact and compacts an older one; the response and messages read the same', async () => {
    const t = await s.token();
    const young = await converse(t);
    const old = await converse(t);
    const youngEvents = await eventTypes(young.resp);
    const oldBefore = {
      response: (await call(t, 'GET', `${BASE}/conversations/${old.conv}/responses/${old.resp}`)).json(),
      messages: (await call(t, 'GET', `${BASE}/conversations/${old.conv}/messages`)).json(),
      responseMessages: (await call(t, 'GET', `${BASE}/conversations/${old.conv}/responses/${old.resp}/messages`)).json(),
    };
    assert.ok((await eventTypes(old.resp)).includes('RESPONSE_OUTPUT_DELTA'));
    // Finished 25 h ago, as far as the compaction can tell.
    await age(old.conv, 25);
    // The configured hours cannot go below the contract's 24.
    assert.ok((await compactEventLogs(s.parley.deps, 1)) >= 1);

    assert.deepEqual(await eventTypes(young.resp), youngEvents, 'the young log is untouched');
    assert.ok(youngEvents.filter((e) => e === 'RESPONSE_OUTPUT_DELTA').length >= 2);
    assert.deepEqual(await eventTypes(old.resp), ['RESPONSE_CREATED', 'RESPONSE_IN_PROGRESS', 'RESPONSE_COMPLETED'], 'only the frame of the old log is left');

    // Back to its real times, so what is read below can be compared exactly with what was read before.
    await age(old.conv, -25);
    // Fresh node memory, so everything below is read from the database.
    s.parley.deps.finished.deleteWhere(() => true);
    s.parley.deps.messages.deleteWhere(() => true);
    assert.deepEqual((await call(t, 'GET', `${BASE}/conversations/${old.conv}/responses/${old.resp}`)).json(), oldBefore.response);
    assert.deepEqual((await call(t, 'GET', `${BASE}/conversations/${old.conv}/messages`)).json(), oldBefore.messages);
    assert.deepEqual((await call(t, 'GET', `${BASE}/conversations/${old.conv}/responses/${old.resp}/messages`)).json(), oldBefore.responseMessages);
    // A replay still starts, ends, and carries the final response; it closes after the terminal event.
    const replay = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${old.conv}/responses/${old.resp}/stream`, headers: s.headers(t) });
    const { events } = parseSse(replay.body);
    assert.deepEqual(events.map((e) => e.event), ['RESPONSE_CREATED', 'RESPONSE_IN_PROGRESS', 'RESPONSE_COMPLETED']);
    assert.deepEqual(JSON.parse(events.at(-1)!.data!).response, oldBefore.response);
    // Compacting again changes nothing (each log is compacted once).
    await compactEventLogs(s.parley.deps, 24);
    assert.deepEqual(await eventTypes(young.resp), youngEvents);
  });

  it('purges conversations idle longer than retention.days, in batches, safely from two purgers at once', async () => {
    const t = await s.token();
    const stale = [await converse(t), await converse(t), await converse(t)];
    const fresh = await converse(t);
    for (const c of stale) await age(c.conv, 3 * 24);
    await age(fresh.conv, 12);
    // Two purges at once (two nodes), in batches of one: every stale conversation goes once, the fresh one stays.
    const [x, y] = await Promise.all([purgeIdleConversations(s.parley.deps, 2, { batch: 1 }), purgeIdleConversations(s.parley.deps, 2, { batch: 1 })]);
    assert.ok(x + y >= 3, `purged ${x} + ${y}`);
    for (const c of stale) {
      assert.equal((await call(t, 'GET', `${BASE}/conversations/${c.conv}`)).statusCode, 404);
      assert.equal((await s.parley.db.query(`SELECT 1 FROM messages WHERE conversation_id = $1`, [c.conv])).length, 0);
      assert.equal((await s.parley.db.query(`SELECT 1 FROM response_events WHERE response_id = $1`, [c.resp])).length, 0);
    }
    assert.equal((await call(t, 'GET', `${BASE}/conversations/${fresh.conv}`)).statusCode, 200);
    assert.equal((await call(t, 'GET', `${BASE}/conversations/${fresh.conv}/responses/${fresh.resp}`)).json().status, 'COMPLETED');
  });

  it('refuses an event-log retention under 24 h in the configuration', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config.ts');
    assert.throws(() => loadConfig({ PARLEY_EVENT_LOG_HOURS: '12' }), (e: unknown) => e instanceof ConfigError && /retention\.eventLogHours.*at least 24/.test(e.message));
    assert.equal(loadConfig({ PARLEY_RETENTION_DAYS: '30' }).retention.days, 30);
    assert.equal(loadConfig({}).retention.days, undefined, 'no purge unless configured');
  });

  it('exports and deletes a person\'s data by email (subject or verified email claim; an unverified claim names nobody)', async () => {
    const email = `${uniq('person')}@example.test`;
    const bySub = await s.token({ sub: email });
    const byClaim = await s.token({ sub: uniq('idp-subject'), email });
    const impostor = await s.token({ sub: uniq('impostor'), email });
    const one = await converse(bySub, 'first question');
    const two = await converse(byClaim, 'second question');
    const theirs = await converse(impostor, 'not theirs');
    // Tokens Parley minted vouch for their email; the impostor's stands for a provider's token without
    // email_verified, whose email claim names nobody.
    await s.parley.db.query(`UPDATE responses SET user_claims = jsonb_set(user_claims, '{emailVerified}', 'false') WHERE conversation_id = $1`, [theirs.conv]);
    const claims = (await s.parley.db.query<{ c: { emailVerified?: boolean } }>(`SELECT user_claims AS c FROM responses WHERE conversation_id = $1`, [two.conv]))[0]!.c;
    assert.equal(claims.emailVerified, true);
    const answer = (await call(bySub, 'GET', `${BASE}/conversations/${one.conv}/responses/${one.resp}`)).json();
    const msg = answer.outputs.find((o: { type: string }) => o.type === 'MESSAGE').message;
    await call(bySub, 'POST', `${BASE}/conversations/${one.conv}/responses/${one.resp}/messages/${msg.message_id}/feedback`, {
      callback_id: msg.feedback.unhelpful.callback_id,
      additional_feedback: 'needs more detail',
    });

    const exported = await exportUser(s.parley.deps, email.toUpperCase());
    assert.equal(exported.conversations.length, 2);
    assert.deepEqual(exported.conversations.map((c) => c.conversation_id).sort(), [one.conv, two.conv].sort());
    const texts = exported.conversations.flatMap((c) => c.messages.map((m) => JSON.stringify(m)));
    assert.ok(texts.some((x) => x.includes('first question')) && texts.some((x) => x.includes('second question')));
    assert.ok(!texts.some((x) => x.includes('not theirs')), 'an unverified email claim is not this person');
    assert.equal(exported.feedback.length, 1);
    assert.equal(exported.feedback[0]!.comment, 'needs more detail');
    assert.equal(exported.feedback[0]!.rating, 'UNHELPFUL');

    const deleted = await deleteUser(s.parley.deps, email);
    assert.equal(deleted.conversations, 2);
    assert.equal(deleted.feedback, 1);
    assert.equal((await call(bySub, 'GET', `${BASE}/conversations/${one.conv}`)).statusCode, 404);
    assert.equal((await call(byClaim, 'GET', `${BASE}/conversations/${two.conv}`)).statusCode, 404);
    assert.equal((await call(impostor, 'GET', `${BASE}/conversations/${theirs.conv}`)).statusCode, 200, 'someone else\'s data stays');
    assert.deepEqual((await exportUser(s.parley.deps, email)).conversations, []);
  });
});
