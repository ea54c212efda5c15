import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runIngestCommand } from '../../src/cli/ingest.ts';
import { uniq } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('admin ingest while the server runs', () => {
  let s: TestServer;
  let base: string;
  before(async () => {
    s = await startTestServer();
    await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(s.parley.app.server.address() as AddressInfo).port}`;
  });
  after(() => s.close());

  it('needs an admin token', async () => {
    const plain = await s.token();
    const r = await s.parley.app.inject({ method: 'POST', url: '/admin/v1/ingest', headers: { authorization: `Bearer ${plain}` }, payload: {} });
    assert.equal(r.statusCode, 403);
    const none = await s.parley.app.inject({ method: 'POST', url: '/admin/v1/ingest', payload: {} });
    assert.equal(none.statusCode, 401);
    const admin = await s.token({ groups: ['parley-admins'] });
    const bad = await s.parley.app.inject({ method: 'POST', url: '/admin/v1/ingest', headers: { authorization: `Bearer ${admin}` }, payload: { assistant: 5 } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'INVALID_INPUT');
  });

  it('`parley ingest` sends parsed files to the running server; re-running skips unchanged ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-kb-'));
    writeFileSync(join(dir, 'zep.md'), '---\ntitle: Zeppelin mooring\nurl: https://intranet.example/kb/zeppelin\n---\n# Mooring\n\nZeppelins are moored at dock seven of the Austin office.\n');
    writeFileSync(join(dir, 'broken.md'), '---\ntitle: [oops\n---\nbody');
    const assistant = uniq('assistant');
    const token = await s.token({ groups: ['parley-admins'] });
    let out = '';
    const sink = { write: (c: string) => ((out += c), true) } as unknown as NodeJS.WritableStream;
    const code = await runIngestCommand({ path: dir, assistant, prune: false, target: { kind: 'remote', baseUrl: base, token }, out: sink, isTTY: false });
    assert.equal(code, 1, 'a bad file makes the exit code 1');
    assert.match(out, /broken\.md: /);
    assert.match(out, /ingested 1 document \(1 added, 0 updated, 0 unchanged, 0 removed\), 0 people, 1 error/);
    const hits = await s.parley.knowledge.search(assistant, ['*'], 'zeppelin moored');
    assert.equal(hits[0]?.url, 'https://intranet.example/kb/zeppelin');
    out = '';
    await runIngestCommand({ path: dir, assistant, prune: false, target: { kind: 'remote', baseUrl: base, token }, out: sink, isTTY: false });
    assert.match(out, /\(0 added, 0 updated, 1 unchanged, 0 removed\)/);
  });
});
