import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runIngestCommand } from '../../src/cli/ingest.ts';
import { uniq } from '../support/db.ts';
import { ASSISTANT, startTestServer, type TestServer } from '../support/server.ts';

describe('admin ingest while the server runs', () => {
  let s: TestServer;
  let base: string;
  // Ingest targets configured assistants only: this suite's own assistant is configured beside the default one.
  const assistant = uniq('assistant');
  before(async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'parley-cfg-')), 'parley.config.yaml');
    writeFileSync(config, `assistants:\n  - name: ${ASSISTANT}\n  - name: ${assistant}\n`);
    s = await startTestServer({ env: { PARLEY_CONFIG: config } });
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

  it('refuses an ingest for an assistant that is not configured, and lists the audit of applied ingests', async () => {
    const admin = await s.token({ groups: ['parley-admins'], email: 'ops@example.test' });
    const doc = { path: 'a.md', format: 'markdown', title: 'A', url: `https://kb.example.test/${uniq('a')}`, updatedAt: null, access: ['*'], body: 'Alpha.' };
    const unknown = await s.parley.app.inject({
      method: 'POST', url: '/admin/v1/ingest', headers: { authorization: `Bearer ${admin}` },
      payload: { assistant: 'no-such-assistant', root: '/x', documents: [doc], people: [] },
    });
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.json().error.message, /unknown assistant "no-such-assistant"/);
    const root = `/audit/${uniq('src')}`;
    const ok = await s.parley.app.inject({
      method: 'POST', url: '/admin/v1/ingest', headers: { authorization: `Bearer ${admin}` },
      payload: { assistant, root, documents: [doc], people: [], actor: 'spoofed' },
    });
    assert.equal(ok.statusCode, 200, 'the audit names the token, whatever the body says');
    const refused = await s.parley.app.inject({
      method: 'POST', url: '/admin/v1/ingest', headers: { authorization: `Bearer ${admin}` },
      payload: { assistant, root, prune: true, documents: [], people: [] },
    });
    assert.equal(refused.statusCode, 409, 'removing all of a source needs force');
    assert.match(refused.json().error.message, /more than half/);
    const dry = await s.parley.app.inject({
      method: 'POST', url: '/admin/v1/ingest', headers: { authorization: `Bearer ${admin}` },
      payload: { assistant, root, prune: true, force: true, dryRun: true, actor: 'spoofed', documents: [], people: [] },
    });
    assert.equal(dry.statusCode, 200);
    assert.deepEqual(dry.json().changes.map((c: { action: string; url: string }) => [c.action, c.url]), [['remove', doc.url]]);
    const list = await s.parley.app.inject({ method: 'GET', url: `/admin/v1/ingests?assistant=${assistant}`, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(list.statusCode, 200);
    const mine = (list.json().ingests as { source: string; actor: string; added: number; prune: boolean }[]).filter((r) => r.source === root);
    assert.deepEqual(mine.map((r) => [r.actor, r.added, r.prune]), [['ops@example.test', 1, false]], 'neither the refused prune nor the dry run wrote anything');
    assert.equal((await s.parley.knowledge.search(assistant, ['*'], 'alpha')).length, 1);
    const plain = await s.token();
    const forbidden = await s.parley.app.inject({ method: 'GET', url: '/admin/v1/ingests', headers: { authorization: `Bearer ${plain}` } });
    assert.equal(forbidden.statusCode, 403);
    const bad = await s.parley.app.inject({ method: 'GET', url: '/admin/v1/ingests?limit=0', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(bad.statusCode, 400);
  });
});
