import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { signWebhook } from '../../src/webhooks/outbox.ts';
import { backoffMs } from '../../src/webhooks/delivery.ts';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A webhook receiver on a real socket; `answer` picks the HTTP status of each request (all recorded). */
class Receiver {
  readonly received: Received[] = [];
  answer: (r: Received, n: number) => number = () => 204;
  private server: Server | undefined;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') };
        this.received.push(r);
        res.statusCode = this.answer(r, this.received.length);
        res.end();
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }
  stop(): Promise<void> {
    return new Promise((ok) => this.server!.close(() => ok()));
  }
  /** Requests whose verified body has `type` (every request's signature is checked with standardwebhooks). */
  verified(secret: string, type?: string): { id: string; body: { type: string; timestamp: string; data: Record<string, any> } }[] {
    const wh = new Webhook(secret);
    return this.received
      .map((r) => ({ id: r.headers['webhook-id']!, body: wh.verify(r.body, r.headers) as { type: string; timestamp: string; data: Record<string, any> } }))
      .filter((r) => type === undefined || r.body.type === type);
  }
}

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const FAST = { PARLEY_WEBHOOK_POLL_MS: '25', PARLEY_WEBHOOK_FIRST_RETRY_MS: '100', PARLEY_WEBHOOK_TIMEOUT_MS: '3000' };

async function converse(s: TestServer, t: string, text: string): Promise<{ conv: string; resp: string; body: Record<string, any> }> {
  const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id as string;
  const resp = (
    await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text } } })
  ).json().response_id as string;
  return { conv, resp, body: await waitTerminal(s, t, conv, resp) };
}

describe('signed outbound webhooks', () => {
  const receiver = new Receiver();
  const secret = newSecret();
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    await receiver.start();
    const env = { ...FAST, PARLEY_WEBHOOK_URL: receiver.url, PARLEY_WEBHOOK_SECRET: secret };
    // Two nodes on one database, both delivering: each event must still arrive once.
    a = await startTestServer({ env });
    b = await startTestServer({ env, worker: false });
  });
  after(async () => {
    await a.close();
    await b.close();
    await receiver.stop();
  });

  it('sends response.completed, signed as Standard Webhooks, once across two nodes', async () => {
    const t = await a.token();
    const { conv, resp, body } = await converse(b, t, 'hello there');
    assert.equal(body['status'], 'COMPLETED');
    const hit = await until('response.completed arrives', () => receiver.verified(secret, 'response.completed').find((r) => r.body.data['response'].response_id === resp));
    assert.match(hit.id, /^msg_[0-9a-f]{32}$/);
    assert.equal(hit.body.data['conversation_id'], conv);
    assert.deepEqual(hit.body.data['response'], body, 'the data is the response as the API renders it');
    assert.ok(!Number.isNaN(Date.parse(hit.body.timestamp)));
    // A wrong secret does not verify: the signature really depends on the key.
    assert.throws(() => new Webhook(newSecret()).verify(receiver.received.at(-1)!.body, receiver.received.at(-1)!.headers));
    // Give both nodes several polls: no second copy of the same webhook-id.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.received.filter((r) => r.headers['webhook-id'] === hit.id).length, 1);
  });

  it('sends response.failed, feedback.submitted and conversation.updated', async () => {
    const t = await a.token();
    const failed = await converse(a, t, 'fail');
    assert.equal(failed.body['status'], 'FAILED');
    await until('response.failed arrives', () =>
      receiver.verified(secret, 'response.failed').find((r) => r.body.data['response'].response_id === failed.resp && r.body.data['response'].error.code === 'PROVIDER_ERROR'),
    );

    const done = await converse(a, t, 'hello');
    const msg = done.body['outputs'].find((o: { type: string }) => o.type === 'MESSAGE').message;
    const fb = await a.parley.app.inject({
      method: 'POST',
      url: `${BASE}/conversations/${done.conv}/responses/${done.resp}/messages/${msg.message_id}/feedback`,
      headers: a.headers(t),
      payload: { callback_id: msg.feedback.unhelpful.callback_id, additional_feedback: 'too short' },
    });
    assert.equal(fb.statusCode, 200);
    const f = await until('feedback.submitted arrives', () => receiver.verified(secret, 'feedback.submitted').find((r) => r.body.data['message_id'] === msg.message_id));
    assert.equal(f.body.data['rating'], 'UNHELPFUL');
    assert.equal(f.body.data['additional_feedback'], 'too short');
    assert.equal(f.body.data['response_id'], done.resp);

    const patch = await a.parley.app.inject({ method: 'PATCH', url: `${BASE}/conversations/${done.conv}`, headers: a.headers(t), payload: { title: 'Renamed' } });
    assert.equal(patch.statusCode, 200);
    const u = await until('conversation.updated arrives', () =>
      receiver.verified(secret, 'conversation.updated').find((r) => r.body.data['conversation'].conversation_id === done.conv),
    );
    assert.deepEqual(u.body.data['conversation'], patch.json());
  });

  it('sends nothing for a change that did not happen (a PATCH of someone else\'s conversation)', async () => {
    const owner = await a.token();
    const other = await a.token();
    const conv = (await a.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: a.headers(owner), payload: {} })).json().conversation_id as string;
    const r = await a.parley.app.inject({ method: 'PATCH', url: `${BASE}/conversations/${conv}`, headers: a.headers(other), payload: { title: 'x' } });
    assert.equal(r.statusCode, 404);
    const ok = await a.parley.app.inject({ method: 'PATCH', url: `${BASE}/conversations/${conv}`, headers: a.headers(owner), payload: { title: 'mine' } });
    assert.equal(ok.statusCode, 200);
    await until('the owner\'s update arrives', () => receiver.verified(secret, 'conversation.updated').find((x) => x.body.data['conversation'].conversation_id === conv));
    assert.equal(receiver.verified(secret, 'conversation.updated').filter((x) => x.body.data['conversation'].conversation_id === conv).length, 1);
  });
});

describe('webhook retries', () => {
  it('retries a failed delivery with the same webhook-id, also after a restart, and logs every attempt', async () => {
    const receiver = new Receiver();
    await receiver.start();
    const secret = newSecret();
    // The first attempt fails; the node that made it stops before retrying.
    receiver.answer = () => 503;
    const env = { ...FAST, PARLEY_WEBHOOK_FIRST_RETRY_MS: '500', PARLEY_WEBHOOK_URL: receiver.url, PARLEY_WEBHOOK_SECRET: secret };
    const first = await startTestServer({ env });
    let t: string;
    let resp: string;
    try {
      t = await first.token();
      resp = (await converse(first, t, 'hello')).resp;
      await until('the first attempt', () => receiver.received.length >= 1);
    } finally {
      await first.close();
    }
    const seen = receiver.received.length;
    const id = receiver.received[0]!.headers['webhook-id']!;
    // A new node (a restart) finds the delivery in the database and retries it.
    receiver.answer = () => 200;
    const second = await startTestServer({ env, worker: false });
    try {
      await until('the retry after the restart', () => receiver.received.length > seen && receiver.received.at(-1)!.headers['webhook-id'] === id);
      const all = receiver.verified(secret);
      assert.ok(all.every((r) => r.id === id), 'every attempt carries the same webhook-id');
      assert.equal(all.at(-1)!.body.data['response'].response_id, resp);
      // Each attempt is signed afresh (its own timestamp) and every one verifies.
      assert.ok(all.length >= 2);

      // The delivery log, through the admin endpoint.
      const admin = await second.token({ groups: ['parley-admins'] });
      const log = await until('the log shows the delivery', async () => {
        const r = await second.parley.app.inject({ method: 'GET', url: '/admin/v1/webhooks', headers: { authorization: `Bearer ${admin}` } });
        assert.equal(r.statusCode, 200);
        const body = r.json();
        assert.equal(JSON.stringify(body).includes(secret), false, 'the secret is never shown');
        const d = body.endpoints[0].deliveries.find((x: { webhook_id: string }) => x.webhook_id === id);
        return d?.status === 'DELIVERED' ? d : undefined;
      });
      assert.equal(log.type, 'response.completed');
      assert.equal(log.next_attempt_at, null);
      assert.equal(log.attempts.length, receiver.received.length);
      assert.equal(log.attempts[0].http_status, 503);
      assert.equal(log.attempts[0].error, 'HTTP 503');
      assert.equal(log.attempts.at(-1).http_status, 200);
      assert.equal(log.attempts.at(-1).error, null);
      const users = await second.parley.app.inject({ method: 'GET', url: '/admin/v1/webhooks', headers: { authorization: `Bearer ${await second.token()}` } });
      assert.equal(users.statusCode, 403, 'the log is for operators only');
    } finally {
      await second.close();
      await receiver.stop();
    }
  });

  it('logs an unreachable endpoint as an error and schedules the next try with backoff', async () => {
    const receiver = new Receiver();
    await receiver.start();
    const url = receiver.url;
    await receiver.stop(); // nothing listens there now
    const secret = newSecret();
    const s = await startTestServer({ env: { ...FAST, PARLEY_WEBHOOK_FIRST_RETRY_MS: '60000', PARLEY_WEBHOOK_URL: url, PARLEY_WEBHOOK_SECRET: secret } });
    try {
      const t = await s.token();
      await converse(s, t, 'hello');
      const admin = await s.token({ groups: ['parley-admins'] });
      const d = await until('a failed attempt is logged', async () => {
        const body = (await s.parley.app.inject({ method: 'GET', url: '/admin/v1/webhooks', headers: { authorization: `Bearer ${admin}` } })).json();
        const x = body.endpoints[0].deliveries[0];
        return x?.attempts.length ? x : undefined;
      });
      assert.equal(d.status, 'PENDING');
      assert.equal(d.attempts[0].http_status, null);
      assert.match(d.attempts[0].error, /ECONNREFUSED|fetch failed/);
      const wait = Date.parse(d.next_attempt_at) - Date.parse(d.attempts[0].at);
      assert.ok(wait >= 55_000, `next try about a minute later, got ${wait} ms`);
    } finally {
      await s.close();
    }
  });

  it('deletes the webhooks of a deleted conversation, pending or sent, and sends nothing about it afterwards', async () => {
    const receiver = new Receiver();
    await receiver.start();
    const secret = newSecret();
    // Every attempt fails and the next one is a minute away: the delivery stays pending.
    receiver.answer = () => 503;
    const s = await startTestServer({ env: { ...FAST, PARLEY_WEBHOOK_FIRST_RETRY_MS: '60000', PARLEY_WEBHOOK_URL: receiver.url, PARLEY_WEBHOOK_SECRET: secret } });
    try {
      const t = await s.token();
      const kept = await converse(s, t, 'hello');
      const gone = await converse(s, t, 'a question about something private');
      await until('both first attempts', () => receiver.received.length >= 2);
      const rows = (conv: string) =>
        s.parley.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE conversation_id = $1`, [conv]);
      assert.equal((await rows(gone.conv))[0]!.n, 1, 'the pending delivery names its conversation');
      const del = await s.parley.app.inject({ method: 'DELETE', url: `${BASE}/conversations/${gone.conv}`, headers: s.headers(t) });
      assert.ok(del.statusCode === 200 || del.statusCode === 204, `deleted (${del.statusCode})`);
      assert.equal((await rows(gone.conv))[0]!.n, 0, 'its deliveries went with it');
      const left = await s.parley.deps.db.query<{ body: string }>(`SELECT body FROM webhook_deliveries`);
      assert.equal(left.some((r) => r.body.includes(gone.conv)), false, 'no stored webhook body mentions it');
      assert.equal((await rows(kept.conv))[0]!.n, 1, 'the other conversation keeps its delivery');
    } finally {
      await s.close();
      await receiver.stop();
    }
  });

  it('backs off exponentially up to an hour between tries', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => backoffMs(5000, n)), [5000, 10000, 20000, 40000]);
    assert.equal(backoffMs(5000, 20), 3600_000);
    assert.equal(backoffMs(5000, 10_000), 3600_000);
  });

  it('signs exactly as the standardwebhooks library expects', () => {
    const secret = newSecret();
    const at = new Date();
    const body = JSON.stringify({ type: 'response.completed', timestamp: at.toISOString(), data: { x: 'é' } });
    const headers = signWebhook(secret, 'msg_1', body, at);
    assert.equal(headers['webhook-signature'], new Webhook(secret).sign('msg_1', at, body));
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(secret).verify(body.replace('é', 'e'), headers), 'a changed body fails');
  });
});

describe('webhook configuration', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const withFile = (obj: unknown, env: Record<string, string> = {}) => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-hooks-'));
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify(obj));
    return loadConfig({ PARLEY_CONFIG: path, ...env });
  };

  it('reads endpoints from the file and from PARLEY_WEBHOOK_URL + PARLEY_WEBHOOK_SECRET', () => {
    const cfg = withFile(
      { webhooks: [{ url: 'https://hooks.example.test/a', secret, events: ['feedback.submitted'] }] },
      { PARLEY_WEBHOOK_URL: 'http://127.0.0.1:9/b', PARLEY_WEBHOOK_SECRET: secret },
    );
    assert.deepEqual(
      cfg.webhooks.map((w) => [w.url, w.events]),
      [
        ['https://hooks.example.test/a', ['feedback.submitted']],
        ['http://127.0.0.1:9/b', ['response.completed', 'response.failed', 'feedback.submitted', 'conversation.updated']],
      ],
    );
    assert.deepEqual(loadConfig({}).webhooks, []);
  });

  it('refuses bad endpoints with a message naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [{ webhooks: [{ url: 'hooks.example.test/a', secret }] }, /webhooks\.0\.url: must be an absolute http/],
      [{ webhooks: [{ url: 'ftp://hooks.example.test/a', secret }] }, /webhooks\.0\.url/],
      [{ webhooks: [{ url: 'https://hooks.example.test/a', secret: 'hunter2' }] }, /webhooks\.0\.secret: must be whsec_/],
      [{ webhooks: [{ url: 'https://hooks.example.test/a', secret: 'whsec_c2hvcnQ=' }] }, /webhooks\.0\.secret/],
      [{ webhooks: [{ url: 'https://hooks.example.test/a', secret, events: ['response.created'] }] }, /webhooks\.0\.events\.0/],
      [{ webhooks: [{ url: 'https://hooks.example.test/a', secret, event: ['feedback.submitted'] }] }, /unknown key "event"/],
      [{ webhooks: [{ url: 'https://h.example.test/a', secret }, { url: 'https://h.example.test/a', secret }] }, /duplicate url/],
    ];
    for (const [obj, re] of bad) assert.throws(() => withFile(obj), (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes(secret));
    assert.throws(() => loadConfig({ PARLEY_WEBHOOK_URL: 'https://h.example.test/a' }), /must be set together/);
    assert.throws(() => loadConfig({ PARLEY_WEBHOOK_SECRET: secret }), /must be set together/);
  });
});
