import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { startTestServer, type TestServer } from '../support/server.ts';

/** A client's seed flow over the generated types: create a conversation, ask, read the response. */
const SEED = `
import type { components, paths } from './api.ts';
type CreateConversation = paths['/conversations']['post'];
type CreateResponse = paths['/conversations/{conversation_id}/responses']['post'];
type GetResponse = paths['/conversations/{conversation_id}/responses/{response_id}']['get'];
type ListConversations = paths['/conversations']['get'];

export async function seed(base: string, token: string, assistant: string): Promise<components['schemas']['Response']> {
  const header: CreateConversation['parameters']['header'] = { 'Assistant-Name': assistant };
  const headers = { ...header, authorization: 'Bearer ' + token, 'content-type': 'application/json' };
  const convBody: NonNullable<CreateConversation['requestBody']>['content']['application/json'] = { title: 'seed' };
  const conv: CreateConversation['responses'][201]['content']['application/json'] = await (await fetch(base + '/conversations', { method: 'POST', headers, body: JSON.stringify(convBody) })).json();
  const path: CreateResponse['parameters']['path'] = { conversation_id: conv.conversation_id };
  const ask: CreateResponse['requestBody']['content']['application/json'] = { input: { text: 'How do I reset my VPN password?' } };
  const created: CreateResponse['responses'][202]['content']['application/json'] = await (await fetch(base + '/conversations/' + path.conversation_id + '/responses', { method: 'POST', headers, body: JSON.stringify(ask) })).json();
  const status: 'CREATED' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' = created.status;
  const query: ListConversations['parameters']['query'] = { limit: 10, archived: false };
  void query;
  void status;
  const got: GetResponse['responses'][200]['content']['application/json'] = await (await fetch(base + '/conversations/' + conv.conversation_id + '/responses/' + created.response_id, { headers })).json();
  return got;
}
`;

/** Type-checks `files` (name → source) strictly; returns the diagnostics as text. */
function typecheck(dir: string, files: Record<string, string>): string[] {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const program = ts.createProgram(
    Object.keys(files).map((f) => join(dir, f)),
    { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, allowImportingTsExtensions: true, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], skipLibCheck: true, types: [] },
  );
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('a client generated from /openapi.json (openapi-typescript)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ worker: false });
  });
  after(() => s.close());

  it('type-checks the seed flow, and a mistyped query parameter does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-client-'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const doc = (await s.parley.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const api = astToString(await openapiTS(doc));
    assert.deepEqual(typecheck(dir, { 'api.ts': api, 'seed.ts': SEED }), []);
    // The check can fail: `limit` is an integer and `Assistant-Name` is required.
    const wrong = SEED.replace('limit: 10', "limit: '10'").replace("{ 'Assistant-Name': assistant }", '{}');
    const errors = typecheck(dir, { 'api.ts': api, 'seed.ts': wrong });
    assert.ok(errors.some((e) => /string.*number|number.*string/.test(e)), errors.join('\n'));
    assert.ok(errors.some((e) => /Assistant-Name/.test(e)), errors.join('\n'));
  });
});
