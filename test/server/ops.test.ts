import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

describe('operations: health, metrics, OpenAPI, configuration', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it('serves health and readiness', async () => {
    assert.deepEqual((await s.parley.app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    assert.deepEqual((await s.parley.app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready' });
  });

  it('exposes Prometheus metrics for requests, responses, queue and streams', async () => {
    const t = await s.token();
    const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id;
    const id = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'metrics' } } })).json().response_id;
    await waitTerminal(s, t, conv, id);
    const text = (await s.parley.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(text, /parley_http_request_duration_seconds_bucket\{.*route="\/rest\/v1beta1\/conversations\/:conversation_id\/responses\/:response_id"/);
    assert.match(text, /parley_response_duration_seconds_count\{status="COMPLETED"\} [1-9]/);
    assert.match(text, /parley_queue_depth\{status="CREATED"\} \d+/);
    assert.match(text, /parley_open_streams 0/);
  });

  it('serves an OpenAPI document generated from the validating schemas, and a reference page', async () => {
    const doc = (await s.parley.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    const ops = Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((p) => Object.values(p).map((o) => o.operationId));
    for (const op of [
      'list-conversations',
      'create-conversation',
      'get-conversation',
      'update-conversation',
      'list-events',
      'create-response',
      'create-response-stream',
      'get-response',
      'list-conversation-messages',
      'list-response-messages',
      'submit-feedback',
    ]) {
      assert.ok(ops.includes(op), op);
    }
    const body = doc.paths['/conversations/{conversation_id}/responses'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(body, { $ref: '#/components/schemas/CreateResponseRequest' });
    assert.ok(JSON.stringify(doc.components.schemas.CreateResponseRequest).includes('"text"'));
    type Op = { operationId: string; summary?: string; description?: string; parameters: { in: string; name: string; required?: boolean; schema: { type?: string } }[]; responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }> };
    const api = Object.entries(doc.paths as Record<string, Record<string, Op>>)
      .filter(([path]) => path.startsWith('/conversations'))
      .flatMap(([, item]) => Object.values(item));
    assert.ok(api.some((o) => o.operationId === 'cancel-response') && api.some((o) => o.operationId === 'resume-response-stream'));
    for (const o of api) {
      // Generated clients and proxies need the header on every operation, and required.
      const names = o.parameters.filter((p) => p.in === 'header' && p.name === 'Assistant-Name');
      assert.equal(names.length, 1, `${o.operationId}: one Assistant-Name`);
      assert.equal(names[0]!.required, true, `${o.operationId}: Assistant-Name required`);
      assert.ok(o.summary && o.description, `${o.operationId}: summary and description`);
      for (const code of ['401', '403', '429']) assert.ok(o.responses[code]?.description.includes('`'), `${o.operationId} ${code} described`);
      for (const [code, answer] of Object.entries(o.responses)) {
        assert.notEqual(answer.description, 'Default Response', `${o.operationId} ${code}`);
        const json = answer.content?.['application/json']?.schema;
        if (code.startsWith('4')) assert.deepEqual(json, { $ref: '#/components/schemas/ErrorResponse' }, `${o.operationId} ${code}`);
      }
    }
    for (const path of ['/conversations/{conversation_id}/responses/stream', '/conversations/{conversation_id}/responses/{response_id}/stream']) {
      const item = doc.paths[path] as Record<string, Op>;
      const o = (item['post'] ?? item['get'])!;
      assert.deepEqual(Object.keys(o.responses['200']!.content!), ['text/event-stream'], path);
      assert.ok(o.parameters.some((p) => p.name === 'Last-Event-ID'), path);
    }
    const list = (doc.paths['/conversations'] as Record<string, Op>)['get']!;
    assert.equal(list.parameters.find((p) => p.name === 'limit')!.schema.type, 'integer');
    assert.equal(list.parameters.find((p) => p.name === 'archived')!.schema.type, 'boolean');
    assert.deepEqual(list.responses['200']!.content!['application/json']!.schema, { $ref: '#/components/schemas/ListConversationsResponse' });
    for (const name of ['Conversation', 'Response', 'ErrorResponse', 'ListConversationMessagesResponse']) assert.ok(doc.components.schemas[name], name);
    // Every $ref resolves.
    for (const m of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) assert.ok(doc.components.schemas[m[1]!], m[1]);
    for (const path of ['/healthz', '/readyz', '/metrics', '/oauth/v1/token', '/admin/v1/ingest', '/admin/v1/feedback']) {
      assert.ok(doc.paths[path], path);
      assert.deepEqual(doc.paths[path].servers, [{ url: '/' }], `${path} is outside the API base path`);
    }
    const page = await s.parley.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<html/i);
  });

  it('validates configuration at start, naming the field', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ PORT: 'eighty' }, /port \(PORT\)/],
      [{ DATABASE_URL: 'mysql://x' }, /databaseUrl \(DATABASE_URL\)/],
      [{ RATE_LIMIT_MAX: '-1' }, /rateLimit\.max/],
      [{ PARLEY_ENGINE: 'openai-compatible' }, /engine\.baseUrl/],
      [{ PARLEY_JWT_SECRET: 'short' }, /auth\.hsSecret/],
      [{ LOG_LEVEL: 'loud' }, /logLevel/],
    ];
    for (const [env, re] of bad) {
      assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && re.test(err.message), JSON.stringify(env));
    }
    const ok = loadConfig({ PORT: '9000', PARLEY_ENGINE: 'openai-compatible', LLM_BASE_URL: 'http://127.0.0.1:11434/v1', LLM_MODEL: 'llama3' });
    assert.equal(ok.port, 9000);
    assert.equal(ok.engine.kind, 'openai-compatible');
    assert.equal(ok.assistants[0]!.name, 'acmecorp-conversations-rest-api');
  });
});

// Its own suite: no other server's worker may claim the response and log it elsewhere.
describe('trace ids in logs', () => {
  it('writes the trace id on the request log line and on the worker lines of the response it created', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) };
    const logged = await startTestServer({ logger: pino({ level: 'info' }, sink) });
    try {
      const t = await logged.token();
      const conv = (await logged.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: logged.headers(t), payload: {} })).json().conversation_id;
      const r = await logged.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: logged.headers(t), payload: { input: { text: 'trace me' } } });
      const trace = r.headers['x-moveworks-root-uuid'];
      await waitTerminal(logged, t, conv, r.json().response_id);
      assert.ok(lines.some((l) => l['trace_id'] === trace && l['msg'] === 'request completed'), 'request line');
      // The worker logs just after its commit, so the line may trail the COMPLETED status by a moment.
      const workerLine = () => lines.some((l) => l['trace_id'] === trace && l['msg'] === 'response finished' && l['response_id'] === r.json().response_id);
      for (let i = 0; i < 100 && !workerLine(); i++) await new Promise((res) => setTimeout(res, 20));
      assert.ok(workerLine(), 'worker line');
    } finally {
      await logged.close();
    }
  });

});
