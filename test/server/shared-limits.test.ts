import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testDb } from '../support/db.ts';
import { BASE, startTestServer } from '../support/server.ts';

describe('idempotency races and shared rate limits', () => {
  it('a duplicate while the first request is still being written is 409 CONFLICT', async () => {
    const s = await startTestServer();
    try {
      const t = await s.token({ sub: `u-race-${Date.now()}` });
      const db = await testDb();
      // The first request has claimed the key but not stored its result yet.
      const sub = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).sub as string;
      const body = { title: 'race' };
      const { createHash } = await import('node:crypto');
      await db.query(`INSERT INTO idempotency_keys (user_id, key, operation, request_hash) VALUES ($1, 'k1', $2, $3)`, [
        sub,
        'conversation:acmecorp-conversations-rest-api',
        createHash('sha256').update(JSON.stringify(body)).digest('hex'),
      ]);
      const r = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t, { 'idempotency-key': 'k1' }), payload: body });
      assert.equal(r.statusCode, 409);
      assert.equal(r.json().error.code, 'CONFLICT');
      const list = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: s.headers(t) })).json();
      assert.equal(list.conversations.length, 0);
    } finally {
      await s.close();
    }
  });

  it('forgets idempotency keys after 24 hours', async () => {
    const s = await startTestServer({ worker: false });
    try {
      const db = await testDb();
      const sub = `u-old-${Date.now()}`;
      await db.query(
        `INSERT INTO idempotency_keys (user_id, key, operation, request_hash, status_code, body, created_at)
         VALUES ($1, 'old', 'conversation:x', 'h', 201, '{}', now() - interval '25 hours'), ($1, 'new', 'conversation:x', 'h', 201, '{}', now())`,
        [sub],
      );
      await s.parley.worker.reap();
      const left = await db.query<{ key: string }>(`SELECT key FROM idempotency_keys WHERE user_id = $1 ORDER BY key`, [sub]);
      assert.deepEqual(left.map((r) => r.key), ['new']);
    } finally {
      await s.close();
    }
  });

  const redisUrl = process.env['TEST_REDIS_URL'];
  it('two nodes share one Redis rate limit', { skip: !redisUrl && 'set TEST_REDIS_URL to run' }, async () => {
    const env = { RATE_LIMIT_MAX: '4', RATE_LIMIT_WINDOW_SECONDS: '60', REDIS_URL: redisUrl! };
    const a = await startTestServer({ env });
    const b = await startTestServer({ env });
    try {
      const t = await a.token();
      const codes: number[] = [];
      for (const node of [a, b, a, b, a, b]) {
        codes.push((await node.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: node.headers(t) })).statusCode);
      }
      assert.deepEqual(codes, [200, 200, 200, 200, 429, 429]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
