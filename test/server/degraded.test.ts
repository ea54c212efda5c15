import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { BASE, parseSse, startTestServer } from '../support/server.ts';

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function logSink() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

describe('degraded dependencies and configuration mistakes', () => {
  it('without its Redis, the rate limiter counts per node with a warning, never a 500, and /readyz says so', async () => {
    const { lines, logger } = logSink();
    const s = await startTestServer({ env: { REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, RATE_LIMIT_MAX: '3' }, worker: false, logger });
    try {
      const t = await s.token();
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: s.headers(t) });
        codes.push(r.statusCode);
        if (r.statusCode === 200) assert.ok(r.headers['ratelimit-limit'], 'limit headers still sent');
      }
      // Before: every call was 500. Now the limit still holds, counted on this node.
      assert.deepEqual(codes, [200, 200, 200, 429]);
      const warnings = lines.filter((l) => l['level'] === 40 && String(l['msg']).includes('rate limits'));
      assert.equal(warnings.length, 1, 'one warning when the shared store is lost, not one per request');
      const ready = await s.parley.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200, 'still serving');
      assert.deepEqual(ready.json(), { status: 'ready', degraded: ['redis'] });
    } finally {
      await s.close();
    }
  });

  it('refuses URLs that are not URLs at start, naming the setting and the fix', () => {
    const llm = { PARLEY_ENGINE: 'openai-compatible', LLM_MODEL: 'llama3' };
    const bad: [Record<string, string>, RegExp][] = [
      [{ ...llm, LLM_BASE_URL: 'localhost:11434' }, /engine\.baseUrl \(LLM_BASE_URL\): must be an absolute http:\/\/ or https:\/\/ URL/],
      [{ ...llm, LLM_BASE_URL: 'ftp://models.internal/v1' }, /LLM_BASE_URL/],
      [{ ...llm, LLM_BASE_URL: 'http://user:pw@models.internal/v1' }, /LLM_BASE_URL\): must not contain credentials/],
      [{ PARLEY_JWKS_URL: 'idp.example/jwks' }, /auth\.jwksUrl \(PARLEY_JWKS_URL\)/],
      [{ REDIS_URL: 'redis://[bad' }, /rateLimit\.redisUrl \(REDIS_URL\)/],
      [{ DATABASE_URL: 'postgres://[::1' }, /databaseUrl \(DATABASE_URL\)/],
    ];
    for (const [env, re] of bad) {
      assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && re.test(err.message), JSON.stringify(env));
    }
    assert.equal(loadConfig({ ...llm, LLM_BASE_URL: 'http://localhost:11434/v1' }).engine.baseUrl, 'http://localhost:11434/v1');
  });

  it('logs the endpoint and the cause when the language model cannot be reached', async () => {
    const { lines, logger } = logSink();
    const port = await closedPort();
    const s = await startTestServer({
      env: { PARLEY_ENGINE: 'openai-compatible', LLM_BASE_URL: `http://127.0.0.1:${port}/v1`, LLM_MODEL: 'm', LLM_TIMEOUT_MS: '5000' },
      engine: 'configured',
      logger,
    });
    try {
      const t = await s.token();
      const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id;
      const res = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses/stream`, headers: s.headers(t), payload: { input: { text: 'hello?' } } });
      const last = JSON.parse(parseSse(res.body).events.at(-1)!.data!);
      assert.equal(last.response.error.code, 'PROVIDER_ERROR');
      const line = lines.find((l) => l['msg'] === 'response failed' && l['response_id'] === last.response.response_id);
      assert.ok(line, 'a log line for the failure');
      assert.equal(line['endpoint'], `http://127.0.0.1:${port}/v1`);
      assert.match(String(line['cause']), /ECONNREFUSED/);
    } finally {
      await s.close();
    }
  });
});
