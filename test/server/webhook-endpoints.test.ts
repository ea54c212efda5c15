import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { pruneDeliveries } from '../../src/webhooks/delivery.ts';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A webhook receiver on a real socket, answering 204 to everything and recording each request. */
class Receiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }
  stop(): Promise<void> {
    return new Promise((ok) => this.server!.close(() => ok()));
  }
  /** Requests for this response id whose signature the standardwebhooks library accepts with `secret`. */
  verifiedFor(secret: string, responseId: string): { id: string; type: string }[] {
    const wh = new Webhook(secret);
    const out: { id: string; type: string }[] = [];
    for (const r of this.received) {
      let body: { type: string; data: Record<string, any> };
      try {
        body = wh.verify(r.body, r.headers) as typeof body;
      } catch {
        continue;
      }
      if (body.data['response']?.response_id === responseId) out.push({ id: r.headers['webhook-id']!, type: body.type });
    }
    return out;
  }
  forResponse(responseId: string): Received[] {
    return this.received.filter((r) => r.body.includes(responseId));
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

const FAST = { PARLEY_WEBHOOK_POLL_MS: '25', PARLEY_WEBHOOK_FIRST_RETRY_MS: '100', PARLEY_WEBHOOK_TIMEOUT_MS: '3000' };

describe('webhook endpoints from the admin API', () => {
  const stored = new Receiver();
  const configured = new Receiver();
  const configuredSecret = `whsec_${randomBytes(32).toString('base64')}`;
  let a: TestServer;
  let b: TestServer;
  let admin: string;
  const created: string[] = [];
  before(async () => {
    await stored.start();
    await configured.start();
    // Two nodes on one database with the same configuration (one configured endpoint); B answers, both deliver.
    const env = { ...FAST, PARLEY_WEBHOOK_URL: configured.url, PARLEY_WEBHOOK_SECRET: configuredSecret };
    a = await startTestServer({ worker: false, env });
    b = await startTestServer({ env });
    admin = await a.token({ groups: ['parley-admins'] });
  });
  after(async () => {
    // Leave no endpoint behind in a shared database.
    for (const id of created) await a.parley.db.query(`DELETE FROM webhook_deliveries WHERE endpoint = $1`, [id]);
    for (const id of created) await a.parley.db.query(`DELETE FROM webhook_endpoints WHERE id = $1`, [id]);
    await a.close();
    await b.close();
    await stored.stop();
    await configured.stop();
  });

  const adminCall = (s: TestServer, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, token = admin) =>
    s.parley.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  const answer = async (t: string) => {
    const conv = (await b.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: b.headers(t), payload: {} })).json().conversation_id as string;
    const resp = (await b.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: b.headers(t), payload: { input: { text: 'hello' } } })).json()
      .response_id as string;
    await waitTerminal(b, t, conv, resp);
    return resp;
  };

  it('creates, lists, reads and deletes endpoints; admin group only; errors in the contract envelope', async () => {
    const user = await a.token();
    const forbidden = await adminCall(a, 'POST', '/admin/v1/webhooks', { url: stored.url }, user);
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.json().error.code, 'FORBIDDEN');
    const anonymous = await a.parley.app.inject({ method: 'GET', url: '/admin/v1/webhooks' });
    assert.equal(anonymous.statusCode, 401);

    for (const bad of [{ url: 'localhost:9000/x' }, { url: 'ftp://h.example.test/' }, { url: `${stored.url}?x`, events: ['response.created'] }, { url: `${stored.url}?x`, secret: 'hunter2' }, {}]) {
      const r = await adminCall(a, 'POST', '/admin/v1/webhooks', bad);
      assert.equal(r.statusCode, 400, JSON.stringify(bad));
      assert.equal(r.json().error.code, 'INVALID_INPUT');
    }
    const clash = await adminCall(a, 'POST', '/admin/v1/webhooks', { url: configured.url });
    assert.equal(clash.statusCode, 409, 'a configured url cannot be registered again');

    const r = await adminCall(a, 'POST', '/admin/v1/webhooks', { url: `${stored.url}?crud`, events: ['feedback.submitted'], description: 'CRM sync' });
    assert.equal(r.statusCode, 201);
    const ep = r.json();
    created.push(ep.id);
    assert.match(ep.id, /^whep_[0-9A-Za-z]{22}$/);
    assert.match(ep.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(ep.events, ['feedback.submitted']);
    assert.equal(ep.source, 'api');
    assert.equal((await adminCall(a, 'POST', '/admin/v1/webhooks', { url: `${stored.url}?crud` })).statusCode, 409, 'one registration per url');

    // Any node sees it; no answer but create and rotate shows the secret.
    const got = await adminCall(b, 'GET', `/admin/v1/webhooks/${ep.id}`);
    assert.equal(got.statusCode, 200);
    assert.equal(got.json().url, `${stored.url}?crud`);
    assert.equal(got.json().description, 'CRM sync');
    const list = (await adminCall(b, 'GET', '/admin/v1/webhooks')).json();
    assert.ok(list.endpoints.some((e: { id: string }) => e.id === ep.id));
    assert.ok(!JSON.stringify(list).includes(ep.secret) && !JSON.stringify(got.json()).includes(ep.secret), 'secrets are never listed');
    assert.ok(!JSON.stringify((await adminCall(a, 'GET', '/admin/v1/webhooks')).json()).includes(configuredSecret));

    assert.equal((await adminCall(b, 'DELETE', `/admin/v1/webhooks/${ep.id}`)).statusCode, 204);
    const gone = await adminCall(a, 'GET', `/admin/v1/webhooks/${ep.id}`);
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().error.code, 'NOT_FOUND');
    assert.equal((await adminCall(a, 'DELETE', `/admin/v1/webhooks/${ep.id}`)).statusCode, 404);
    assert.equal((await adminCall(a, 'GET', '/admin/v1/webhooks/whep_nope')).statusCode, 404);
  });

  it('delivers to a registered endpoint from any node, signed, once; configured endpoints still get theirs; the log per endpoint', async () => {
    const r = await adminCall(a, 'POST', '/admin/v1/webhooks', { url: stored.url, events: ['response.completed'] });
    assert.equal(r.statusCode, 201);
    const { id, secret } = r.json() as { id: string; secret: string };
    created.push(id);

    const resp = await answer(await b.token());
    const hit = await until('the registered endpoint gets response.completed', () => stored.verifiedFor(secret, resp)[0]);
    assert.equal(hit.type, 'response.completed');
    await until('the configured endpoint gets it too', () => configured.verifiedFor(configuredSecret, resp).length > 0);
    assert.equal(configured.verifiedFor(secret, resp).length, 0, 'each endpoint is signed with its own secret');
    // Several polls of both nodes later: still one copy.
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(stored.forResponse(resp).length, 1);

    const log = await until('the delivery log shows it delivered', async () => {
      const body = (await adminCall(b, 'GET', `/admin/v1/webhooks/${id}/deliveries`)).json();
      const d = body.deliveries.find((x: { webhook_id: string }) => x.webhook_id === hit.id);
      return d?.status === 'DELIVERED' ? d : undefined;
    });
    assert.equal(log.attempts.length, 1);
    assert.equal(log.attempts[0].http_status, 204);
    assert.equal((await adminCall(a, 'GET', `/admin/v1/webhooks/${id}/deliveries?limit=0`)).statusCode, 400);
  });

  it('rotates a secret: both secrets sign during the overlap, only the new one after', async () => {
    const r = await adminCall(a, 'POST', '/admin/v1/webhooks', { url: `${stored.url}?rotate`, events: ['response.completed'] });
    const { id, secret: oldSecret } = r.json() as { id: string; secret: string };
    created.push(id);
    const rotated = await adminCall(b, 'POST', `/admin/v1/webhooks/${id}/rotate-secret`, {});
    assert.equal(rotated.statusCode, 200);
    const newSecret = rotated.json().secret as string;
    assert.notEqual(newSecret, oldSecret);
    assert.ok(Date.parse(rotated.json().previous_secret_until) > Date.now());

    const during = await answer(await b.token());
    await until('delivered during the overlap', () => stored.verifiedFor(newSecret, during).length > 0);
    assert.equal(stored.verifiedFor(oldSecret, during).length, 1, 'the old secret still verifies during the overlap');

    // A chosen secret, with no overlap: the old one stops at once.
    const chosen = `whsec_${randomBytes(32).toString('base64')}`;
    const again = await adminCall(a, 'POST', `/admin/v1/webhooks/${id}/rotate-secret`, { secret: chosen, overlap_hours: 0 });
    assert.equal(again.json().secret, chosen);
    assert.equal(again.json().previous_secret_until, null);
    const afterRotation = await answer(await b.token());
    await until('delivered after the rotation', () => stored.verifiedFor(chosen, afterRotation).length > 0);
    assert.equal(stored.verifiedFor(newSecret, afterRotation).length, 0);
    assert.equal(stored.verifiedFor(oldSecret, afterRotation).length, 0);
    assert.equal((await adminCall(a, 'POST', `/admin/v1/webhooks/${id}/rotate-secret`, { secret: 'nope' })).statusCode, 400);
  });

  it('prunes finished deliveries older than the kept days, in batches, and keeps pending ones', async () => {
    const r = await adminCall(a, 'POST', '/admin/v1/webhooks', { url: `${stored.url}?prune`, events: ['response.completed'] });
    const { id } = r.json() as { id: string };
    created.push(id);
    const resp = await answer(await b.token());
    await until('delivered', async () => (await a.parley.db.query(`SELECT 1 FROM webhook_deliveries WHERE endpoint = $1 AND status = 'DELIVERED'`, [id])).length > 0);
    // An old delivered row, an old pending one (an endpoint still retrying), a fresh delivered one.
    await a.parley.db.query(`UPDATE webhook_deliveries SET created_at = created_at - interval '10 days' WHERE endpoint = $1`, [id]);
    await a.parley.db.query(
      `INSERT INTO webhook_deliveries (msg_id, endpoint, event_type, body, created_at, next_attempt_at, status)
       VALUES ('msg_old_pending', $1, 'response.completed', '{}', now() - interval '10 days', now() + interval '1 hour', 'PENDING'),
              ('msg_fresh_done', $1, 'response.completed', '{}', now(), now(), 'DELIVERED')`,
      [id],
    );
    const pruned = await pruneDeliveries(a.parley.deps, 7, { batch: 1 });
    assert.ok(pruned >= 1);
    const left = (await a.parley.db.query<{ msg_id: string }>(`SELECT msg_id FROM webhook_deliveries WHERE endpoint = $1 ORDER BY msg_id`, [id])).map((x) => x.msg_id);
    assert.deepEqual(left, ['msg_fresh_done', 'msg_old_pending']);
    assert.equal(
      (await a.parley.db.query(`SELECT 1 FROM webhook_attempts t WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.seq = t.delivery_seq)`)).length,
      0,
      'attempts went with their deliveries',
    );
    assert.ok(resp);
    // Deleting the endpoint drops what it still had queued.
    assert.equal((await adminCall(a, 'DELETE', `/admin/v1/webhooks/${id}`)).statusCode, 204);
    assert.equal((await a.parley.db.query(`SELECT 1 FROM webhook_deliveries WHERE endpoint = $1`, [id])).length, 0);
  });
});
