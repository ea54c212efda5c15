import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runIngestCommand } from '../../src/cli/ingest.ts';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import type { IngestPayload } from '../../src/knowledge/sources.ts';
import { testDb, uniq } from '../support/db.ts';
import { FIXTURES } from './support.ts';

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  return { out, text: () => text };
}

describe('parley ingest', () => {
  it('applies to the database, reports bad files, and ends with one summary line', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const c = capture();
    const code = await runIngestCommand({ path: FIXTURES + 'bad', assistant, prune: false, target: { kind: 'db', db }, out: c.out, isTTY: false });
    assert.equal(code, 1);
    const lines = c.text().trim().split('\n');
    assert.ok(lines.some((l) => l.startsWith('broken.md: invalid front matter: ')));
    assert.ok(lines.some((l) => /^empty\.md: empty document$/.test(l)));
    assert.equal(lines.at(-1), 'ingested 1 document (1 added, 0 updated, 0 unchanged, 0 removed), 0 people, 4 errors');

    const again = capture();
    await runIngestCommand({ path: FIXTURES + 'kb', assistant, prune: true, target: { kind: 'db', db }, out: again.out, isTTY: false });
    assert.equal(again.text().trim(), 'visible to: everyone 5, email:grace.hopper@example.test 1, group:hr 1\ningested 6 documents (6 added, 0 updated, 0 unchanged, 0 removed), 0 people, 0 errors');
  });

  it('posts batches to a running server with the bearer token, pruning only in the last batch', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const seen: { auth: string | undefined; payload: IngestPayload; bytes: number }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', async () => {
        const payload = JSON.parse(body) as IngestPayload;
        seen.push({ auth: req.headers.authorization, payload, bytes: Buffer.byteLength(body) });
        const summary = await applyIngest(db, payload);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(summary));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const c = capture();
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const code = await runIngestCommand({ path: FIXTURES, assistant, prune: true, target: { kind: 'remote', baseUrl, token: 'tok-1' }, out: c.out, isTTY: false });
      assert.equal(seen[0]?.auth, 'Bearer tok-1');
      assert.ok(seen.every((s, i) => s.payload.prune === (i === seen.length - 1)));
      assert.ok(seen.every((s) => s.payload.assistant === assistant && s.payload.root === seen[0]!.payload.root));
      assert.ok(seen.at(-1)!.payload.keepPaths!.includes('kb/it/vpn-reset.md'));
      const docs = seen.reduce((n, s) => n + s.payload.documents.length, 0);
      assert.equal(docs, 7);
      assert.equal(c.text().trim().split('\n').at(-1), 'ingested 7 documents (7 added, 0 updated, 0 unchanged, 0 removed), 10 people, 6 errors');
      assert.equal(code, 1, 'the fixtures hold bad files');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('fails clearly when the server refuses', async () => {
    const server = createServer((_req, res) => res.writeHead(403, { 'content-type': 'application/json' }).end('{"error":{"code":"FORBIDDEN","message":"admins only"}}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await assert.rejects(
        runIngestCommand({ path: FIXTURES + 'kb', assistant: 'x', prune: false, target: { kind: 'remote', baseUrl, token: 't' }, out: new PassThrough(), isTTY: false }),
        /403.*admins only/,
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
