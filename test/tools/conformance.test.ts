import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runConformance, summaryLine } from '../../src/tools/conformance/run.ts';
import { formatResult } from '../../src/tools/conformance/runner.ts';
import { checkSequence, parseStream } from '../../src/tools/conformance/sse.ts';
import { Spec, loadSpecFile, operationKey, type OpenApiDocument } from '../../src/tools/conformance/spec.ts';
import { ASSISTANT, BASE, startTestServer, type TestServer } from '../support/server.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/mini-openapi.yaml', import.meta.url));

const now = '2026-01-02T03:04:05.678Z';
const message = {
  message_id: 'msg_1',
  conversation_id: 'conv_1',
  response_id: 'resp_1',
  actor: 'ASSISTANT',
  content: { type: 'COMMONMARK_TEXT', commonmark_text: { text: 'Hello.' } },
  citations: [{ citation_id: 'cite_1', url: 'https://intranet.example/kb/1' }],
  created_at: now,
};
const completed = {
  response_id: 'resp_1',
  conversation_id: 'conv_1',
  status: 'COMPLETED',
  created_at: now,
  completed_at: now,
  outputs: [{ type: 'MESSAGE', message }],
};

describe('conformance: schema validation', () => {
  const spec = new Spec(loadSpecFile(FIXTURE));
  const getResponse = spec.operation(operationKey('GET', '/conversations/{a}/responses/{b}'))!;

  it('indexes operations by method and path whatever the parameter names', () => {
    assert.ok(getResponse);
    assert.equal(getResponse.label, 'get-response');
    assert.equal(spec.basePath(), '/rest/v1beta1');
  });

  it('accepts a valid body, nullable fields and oneOf variants (discriminator ignored)', () => {
    assert.deepEqual(spec.validateResponse(getResponse, 200, 'application/json', completed), { ok: true, errors: [] });
    const created = { ...completed, status: 'CREATED', completed_at: null, outputs: [] };
    assert.equal(spec.validateResponse(getResponse, 200, 'application/json', created).ok, true);
  });

  it('reports a Response with status "DONE", naming the field and the allowed values', () => {
    const v = spec.validateResponse(getResponse, 200, 'application/json', { ...completed, status: 'DONE' });
    assert.equal(v.ok, false);
    assert.match(v.errors[0]!, /^\/status must be equal to one of the allowed values \(CREATED, IN_PROGRESS, COMPLETED, FAILED\)/);
  });

  it('puts the error inside the matching oneOf variant first', () => {
    const broken = structuredClone(completed);
    const msg = broken.outputs[0]!.message as Partial<typeof message>;
    delete msg.created_at;
    const v = spec.validateResponse(getResponse, 200, 'application/json', broken);
    assert.equal(v.ok, false);
    assert.equal(v.errors[0], "/outputs/0/message must have required property 'created_at'");
  });

  it('checks formats (date-time, uri)', () => {
    const bad = structuredClone(completed);
    bad.outputs[0]!.message.citations[0]!.url = 'not a url';
    bad.created_at = 'yesterday';
    const v = spec.validateResponse(getResponse, 200, 'application/json', bad);
    assert.ok(v.errors.some((e) => e.includes('/created_at must match format "date-time"')), v.errors.join('; '));
    assert.ok(v.errors.some((e) => e.includes('/url must match format "uri"')), v.errors.join('; '));
  });

  it('reports an undocumented status, and validates error bodies through response $refs', () => {
    assert.match(spec.validateResponse(getResponse, 500, 'application/json', {}).errors[0]!, /status 500 is not documented for get-response/);
    const create = spec.operation('POST /conversations')!;
    assert.equal(spec.validateResponse(create, 400, 'application/json', { error: { code: 'INVALID_INPUT', message: 'x' } }).ok, true);
    assert.match(spec.validateResponse(create, 400, 'application/json', { error: { code: 'INVALID_CURSOR', message: 'x' } }).errors[0]!, /\/error\/code/);
  });
});

describe('conformance: SSE framing and sequence', () => {
  const resp = (status: string) => ({ ...completed, status, ...(status === 'COMPLETED' ? {} : { completed_at: null, outputs: [] }) });
  const frame = (n: number, type: string, data: object) => `id: ${n}\nevent: ${type}\ndata: ${JSON.stringify({ event_type: type, sequence_number: n, ...data })}\n\n`;
  const good =
    frame(1, 'RESPONSE_CREATED', { response: resp('CREATED') }) +
    ': keep-alive\n\n' +
    frame(2, 'RESPONSE_IN_PROGRESS', { response: resp('IN_PROGRESS') }) +
    frame(3, 'RESPONSE_OUTPUT_DELTA', { output: { type: 'MESSAGE', message: { ...message, content: { type: 'COMMONMARK_TEXT', commonmark_text: { text: 'Hel' } } } } }) +
    frame(4, 'RESPONSE_OUTPUT_DELTA', { output: { type: 'MESSAGE', message } }) +
    frame(5, 'RESPONSE_COMPLETED', { response: resp('COMPLETED') });

  it('accepts a well-formed stream', () => {
    const parsed = parseStream(good);
    assert.deepEqual(parsed.framing, []);
    assert.equal(parsed.events.length, 5);
    assert.deepEqual(parsed.comments, [': keep-alive']);
    assert.deepEqual(checkSequence(parsed.events), []);
  });

  it('reports framing faults: field order, multi-line data, a stream cut inside a frame', () => {
    const parsed = parseStream('event: RESPONSE_CREATED\nid: 1\ndata: {}\n\nid: 2\nevent: X\ndata: {\ndata: }\n\nid: 3\nevent: Y');
    assert.ok(parsed.framing.some((f) => f.includes('fields are event, id, data')), parsed.framing.join('; '));
    assert.ok(parsed.framing.some((f) => f.includes('data spans several lines')), parsed.framing.join('; '));
    assert.ok(parsed.framing.some((f) => f.includes('stream ends inside a frame')), parsed.framing.join('; '));
  });

  it('reports sequence faults: a gap, a missing IN_PROGRESS, a last snapshot that differs from the final message', () => {
    const bad =
      frame(1, 'RESPONSE_CREATED', { response: resp('CREATED') }) +
      frame(3, 'RESPONSE_OUTPUT_DELTA', { output: { type: 'MESSAGE', message: { ...message, content: { type: 'COMMONMARK_TEXT', commonmark_text: { text: 'Hel' } } } } }) +
      frame(4, 'RESPONSE_COMPLETED', { response: resp('COMPLETED') });
    const problems = checkSequence(parseStream(bad).events);
    assert.ok(problems.some((p) => p.includes('id is "3"; expected 2')), problems.join('; '));
    assert.ok(problems.some((p) => p.includes('0 RESPONSE_IN_PROGRESS')), problems.join('; '));
    assert.ok(problems.some((p) => p.includes('last snapshot of msg_1 differs')), problems.join('; '));
  });
});

describe('conformance: the whole tool against a live server', () => {
  let s: TestServer;
  let baseUrl: string;
  before(async () => {
    s = await startTestServer();
    await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(s.parley.app.server.address() as AddressInfo).port}${BASE}`;
  });
  after(() => s.close());

  it('passes every check of the fixture document, and exercises each of its operations', async () => {
    const lines: string[] = [];
    const report = await runConformance({
      spec: loadSpecFile(FIXTURE),
      baseUrl,
      token: await s.token(),
      assistant: ASSISTANT,
      timeoutMs: 10000,
      pollMs: 20,
      onResult: (r) => lines.push(formatResult(r)),
    });
    assert.equal(report.failed, 0, lines.filter((l) => l.startsWith('FAIL')).join('\n'));
    assert.equal(summaryLine(report), `conformance: ${report.passed} passed, 0 failed`);
    for (const op of ['create-conversation', 'get-response', 'create-response-stream']) {
      assert.ok(report.results.some((r) => r.operation === op && !r.skipped), `${op} was checked`);
    }
    // create 201 x2, 401, 400; get-response polled, after the stream, 404; stream framing, data, sequence, 400.
    assert.equal(report.passed, 11, lines.join('\n'));
    assert.ok(report.skipped > 0, 'operations missing from the document run but are not counted');
    assert.ok(lines.some((l) => /^ok {3}create-response-stream 200 \[event data, \d+ events\]$/.test(l)), lines.join('\n'));
  });

  it('checks the extensions: resume from the final event, POST stream resume, cancel, delete', async () => {
    const lines: string[] = [];
    const report = await runConformance({
      spec: loadSpecFile(FIXTURE),
      baseUrl,
      token: await s.token(),
      assistant: ASSISTANT,
      timeoutMs: 10000,
      pollMs: 20,
      extensions: true,
      onResult: (r) => lines.push(formatResult(r)),
    });
    assert.equal(report.failed, 0, lines.filter((l) => l.startsWith('FAIL')).join('\n'));
    const ext = lines.filter((l) => l.includes('(extension)'));
    assert.ok(ext.some((l) => /^ok {3}resume-response-stream \(extension\) 200 \[from the final event\]$/.test(l)), ext.join('\n'));
    assert.ok(ext.some((l) => /^ok {3}create-response-stream \(extension\) 200 \[retried with Idempotency-Key and Last-Event-ID\]$/.test(l)), ext.join('\n'));
    assert.ok(ext.some((l) => /^ok {3}cancel-response \(extension\) 200 \[(in flight|already finished)\]$/.test(l)), ext.join('\n'));
    assert.ok(ext.some((l) => /^ok {3}cancel-response \(extension\) 200 \[a finished response\]$/.test(l)), ext.join('\n'));
    assert.ok(ext.some((l) => /^ok {3}delete-conversation \(extension\) 204 \[then everything under it is 404\]$/.test(l)), ext.join('\n'));
  });

  it('fails when the server does not match the document', async () => {
    const doc = loadSpecFile(FIXTURE) as OpenApiDocument & { components: { schemas: Record<string, { required: string[] }> } };
    doc.components.schemas['Conversation']!.required.push('owner');
    doc.components.schemas['Response']!.required.push('usage');
    const lines: string[] = [];
    const report = await runConformance({
      spec: doc,
      baseUrl,
      token: await s.token(),
      assistant: ASSISTANT,
      timeoutMs: 10000,
      pollMs: 20,
      onResult: (r) => lines.push(formatResult(r)),
    });
    assert.ok(report.failed >= 3, lines.join('\n'));
    assert.ok(lines.includes("FAIL create-conversation 201 [with title]: / must have required property 'owner'"), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('FAIL create-response-stream 200 [event data') && l.includes("must have required property 'usage'")), lines.join('\n'));
    assert.match(summaryLine(report), /^conformance: \d+ passed, [1-9]\d* failed$/);
  });

  it('fails an operation of the document that it cannot drive', async () => {
    const doc = loadSpecFile(FIXTURE) as OpenApiDocument & { paths: Record<string, unknown> };
    doc.paths['/widgets'] = { get: { operationId: 'list-widgets', responses: { '200': { description: 'ok' } } } };
    const report = await runConformance({ spec: doc, baseUrl, token: await s.token(), assistant: ASSISTANT, timeoutMs: 10000, pollMs: 20 });
    const widget = report.results.find((r) => r.operation === 'list-widgets');
    assert.ok(widget && !widget.ok && widget.errors[0]!.includes('no check for GET /widgets'));
  });
});
