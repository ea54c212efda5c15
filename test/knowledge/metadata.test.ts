import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runIngestCommand } from '../../src/cli/ingest.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { parseSources } from '../../src/knowledge/parse.ts';
import { testDb, uniq } from '../support/db.ts';
import { tree } from './support.ts';

describe('metadata fails closed', () => {
  it('refuses a file with an unknown or misspelled key (front matter, sidecar, <meta>), naming path and key', async () => {
    const dir = tree({
      'typo.md': '---\ntitle: Board pack\nacess: [finance-board]\n---\nQuarterly figures.\n',
      'sidecar.md': 'Body.\n',
      'sidecar.md.meta.json': '{"title": "x", "acl": ["hr"], "owner": "bob"}',
      'meta.html': '<html><head><meta name="viewport" content="width=device-width"><meta property="og:type" content="article">' +
        '<meta name="kb:acess" content="hr"></head><body><p>Page.</p></body></html>',
      'twice.md': '---\ntitle: A\nname: B\n---\nBody.\n',
      'wrongtype.md': '---\ntitle: A\naccess: {hr: true}\n---\nBody.\n',
      'fine.md': '---\ntitle: Fine\naccess: [hr]\ndescription: ok\nauthor: Ann\n---\nBody.\n',
    });
    const out = await parseSources(dir);
    const reasons = new Map(out.errors.map((e) => [e.path, e.reason]));
    assert.match(reasons.get('typo.md') ?? '', /^front matter: unknown key "acess" \(did you mean "access"\?\); the file was not ingested/);
    assert.match(reasons.get('sidecar.md') ?? '', /^sidecar sidecar\.md\.meta\.json: unknown key "owner"/);
    assert.match(reasons.get('meta.html') ?? '', /^<meta> tags: unknown key "kb:acess"/);
    assert.match(reasons.get('twice.md') ?? '', /"title" and "name" both give title/);
    assert.match(reasons.get('wrongtype.md') ?? '', /"access" has the wrong type/);
    assert.deepEqual(out.documents.map((d) => [d.path, d.access]), [['fine.md', ['group:hr']]]);
  });

  it('honours front matter in HTML files (access included) over <meta> tags', async () => {
    const dir = tree({
      'board.html': '---\naccess: [finance-board]\nurl: https://intranet.example.test/board\n---\n<html><head><title>Board</title>' +
        '<meta name="kb:url" content="https://other.example.test/x"><meta name="description" content="d"></head><body><p>Minutes.</p></body></html>',
    });
    const out = await parseSources(dir);
    assert.deepEqual(out.errors, []);
    const d = out.documents[0]!;
    assert.deepEqual(d.access, ['group:finance-board']);
    assert.equal(d.url, 'https://intranet.example.test/board');
    assert.equal(d.title, 'Board');
    assert.doesNotMatch(d.body, /access|---/);
  });

  it('stores nothing of a refused file and counts documents by who can see them', async () => {
    const dir = tree({
      'typo.md': '---\nacess: [finance-board]\n---\nSecret board figures: 42 million.\n',
      'hr.md': '---\naccess: [hr, finance]\n---\nHR page.\n',
      'pub.md': 'Public page.\n',
      'pub2.md': '---\naccess: everyone\n---\nAnother public page.\n',
    });
    const db = await testDb();
    const assistant = uniq('asst');
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const code = await runIngestCommand({ path: dir, assistant, prune: false, target: { kind: 'db', db }, out, isTTY: false });
    assert.equal(code, 1);
    const lines = text.trim().split('\n');
    assert.match(lines[0]!, /^typo\.md: front matter: unknown key "acess"/);
    assert.equal(lines.at(-2), 'visible to: everyone 2, group:finance 1, group:hr 1');
    assert.equal(lines.at(-1), 'ingested 3 documents (3 added, 0 updated, 0 unchanged, 0 removed), 0 people, 1 error');
    const leaked = await db.query('SELECT 1 FROM kb_chunks WHERE assistant = $1 AND body LIKE $2', [assistant, '%42 million%']);
    assert.equal(leaked.length, 0);
  });

  it('rejects unknown configuration keys, naming them', async () => {
    const file = join(tree({}), 'parley.config.yaml');
    writeFileSync(file, 'assistants:\n  - name: hr-bot\n    alow: [hr]\n');
    assert.throws(() => loadConfig({ PARLEY_CONFIG: file }), (e: unknown) => e instanceof ConfigError && /assistants\.0: unknown key "alow"/.test(e.message));
    writeFileSync(file, 'prot: 9000\n');
    assert.throws(() => loadConfig({ PARLEY_CONFIG: file }), (e: unknown) => e instanceof ConfigError && /top level: unknown key "prot"/.test(e.message));
    writeFileSync(file, 'auth:\n  adminGroupp: x\n');
    assert.throws(() => loadConfig({ PARLEY_CONFIG: file }), (e: unknown) => e instanceof ConfigError && /auth: unknown key "adminGroupp"/.test(e.message));
    writeFileSync(file, 'assistants:\n  - name: hr-bot\n    allow: [hr]\n');
    assert.deepEqual(loadConfig({ PARLEY_CONFIG: file }).assistants, [{ name: 'hr-bot', allow: ['group:hr'] }]);
  });
});
