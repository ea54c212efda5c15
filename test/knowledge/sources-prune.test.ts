import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runIngestCommand } from '../../src/cli/ingest.ts';
import { mintToken } from '../../src/cli/token.ts';
import { loadConfig } from '../../src/config.ts';
import { listIngests } from '../../src/knowledge/ingest-history.ts';
import { testDb, uniq } from '../support/db.ts';
import { tree } from './support.ts';

async function ingest(path: string, assistant: string, extra: { prune?: boolean; force?: boolean; dryRun?: boolean } = {}) {
  const db = await testDb();
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const code = await runIngestCommand({ path, assistant, prune: false, ...extra, actor: 'tester', target: { kind: 'db', db }, out, isTTY: false });
  const lines = text.trim().split('\n');
  return { code, lines, last: lines.at(-1)! };
}

async function rows(assistant: string) {
  const db = await testDb();
  return db.query<{ url: string; root: string; body: string }>(
    `SELECT d.url, d.root, string_agg(c.body, ' ' ORDER BY c.ord) AS body
       FROM kb_documents d JOIN kb_chunks c ON c.document_id = d.id WHERE d.assistant = $1 GROUP BY d.url, d.root ORDER BY d.url`,
    [assistant],
  );
}

async function peopleOf(assistant: string): Promise<string[]> {
  const db = await testDb();
  return (await db.query<{ id: string }>('SELECT id FROM kb_people WHERE assistant = $1 ORDER BY id', [assistant])).map((r) => r.id);
}

describe('ingest identity and sources', () => {
  it('a document is its url wherever it lives: a moved or copied folder replaces the old text, never duplicates it', async () => {
    const assistant = uniq('asst');
    const parent = mkdtempSync(join(tmpdir(), 'parley-move-'));
    const first = join(parent, 'first');
    const files = {
      'budget.md': '---\nurl: https://kb.example.test/budget\n---\nThe travel budget is 1200 euros per trip.\n',
      'plain.md': 'A page without a url keeps its path-based url.\n',
      'explicit.md': '---\nid: policy-7\nurl: https://kb.example.test/policy\n---\nPolicy seven text.\n',
    };
    renameSync(tree(files), first);
    assert.match((await ingest(first, assistant)).last, /\(3 added, 0 updated, 0 unchanged, 0 removed\)/);

    // The folder moves and the figure changes: one document each, the new text only.
    const second = join(parent, 'second');
    renameSync(first, second);
    writeFileSync(join(second, 'budget.md'), '---\nurl: https://kb.example.test/budget\n---\nThe travel budget is 1500 euros per trip.\n');
    const moved = await ingest(second, assistant, { prune: true });
    assert.match(moved.last, /\(0 added, 3 updated, 0 unchanged, 0 removed\)/);
    const after = await rows(assistant);
    assert.equal(after.length, 3);
    const budget = after.find((r) => r.url === 'https://kb.example.test/budget')!;
    assert.match(budget.body, /1500/);
    assert.doesNotMatch(budget.body, /1200/);
    assert.ok(after.every((r) => r.root === second), 'the new folder owns them');
    assert.match((await ingest(second, assistant)).last, /\(0 added, 0 updated, 3 unchanged, 0 removed\)/);

    // An explicit id wins over the url: the same id under a new url is the same document.
    writeFileSync(join(second, 'explicit.md'), '---\nid: policy-7\nurl: https://kb.example.test/policy-v2\n---\nPolicy seven, new home.\n');
    assert.match((await ingest(second, assistant)).last, /\(0 added, 1 updated, 2 unchanged, 0 removed\)/);
    assert.deepEqual((await rows(assistant)).map((r) => r.url).filter((u) => u.includes('policy')), ['https://kb.example.test/policy-v2']);

    // Two files of one ingest claiming the same url: the second is refused, by name.
    writeFileSync(join(second, 'copy.md'), '---\nurl: https://kb.example.test/budget\n---\nAn old copy: 900 euros.\n');
    const dup = await ingest(second, assistant);
    assert.ok(dup.lines.some((l) => /^copy\.md: same document as budget\.md \(same url\)/.test(l)), dup.lines.join('\n'));
    assert.doesNotMatch((await rows(assistant)).map((r) => r.body).join(' '), /900 euros/);
  });

  it('prune removes only its own source’s vanished documents and people, and says so truthfully', async () => {
    const assistant = uniq('asst');
    const a = tree({
      'people.csv': 'id,name,email\np1,Ann Lee,ann@example.test\np2,Bo Chan,bo@example.test\np3,Cy Diaz,cy@example.test\n',
      'a1.md': 'Alpha one.\n',
      'a2.md': 'Alpha two.\n',
    });
    const b = tree({ 'b1.md': 'Bravo one.\n', 'b2.md': 'Bravo two.\n' });
    await ingest(a, assistant);
    const pruneB = await ingest(b, assistant, { prune: true });
    assert.match(pruneB.last, /\(2 added, 0 updated, 0 unchanged, 0 removed\), 0 people, 0 errors$/);
    assert.deepEqual(await peopleOf(assistant), ['p1', 'p2', 'p3'], 'another source’s people stay');

    rmSync(join(a, 'a2.md'));
    writeFileSync(join(a, 'people.csv'), 'id,name,email\np1,Ann Lee,ann@example.test\np2,Bo Chan,bo@example.test\n');
    const pruneA = await ingest(a, assistant, { prune: true });
    assert.match(pruneA.last, /\(0 added, 0 updated, 1 unchanged, 1 removed\), 2 people \(1 removed\), 0 errors$/);
    assert.deepEqual(await peopleOf(assistant), ['p1', 'p2']);
    assert.equal((await rows(assistant)).length, 3, 'b1, b2 and a1 remain');

    const history = (await listIngests(await testDb(), { assistant })).filter((r) => r.source === a);
    assert.equal(history[0]!.actor, 'tester');
    assert.equal(history[0]!.removed, 1);
    assert.equal(history[0]!.peopleRemoved, 1);
    assert.ok(history[0]!.removedIds.includes('person:p3'));
    assert.equal(history[0]!.removedIds.filter((id) => id.startsWith('doc_')).length, 1);
  });

  it('a missing root is an error that removes nothing; removing more than half of a source needs force', async () => {
    const assistant = uniq('asst');
    const dir = tree({ '1.md': 'One.\n', '2.md': 'Two.\n', '3.md': 'Three.\n' });
    await ingest(dir, assistant);
    const missing = await ingest(join(dir, 'nope'), assistant, { prune: true });
    assert.equal(missing.code, 2);
    assert.match(missing.last, /^cannot read .*nope: no such file or directory; nothing was changed$/);
    assert.equal((await rows(assistant)).length, 3);

    rmSync(join(dir, '1.md'));
    rmSync(join(dir, '2.md'));
    const refused = await ingest(dir, assistant, { prune: true });
    assert.equal(refused.code, 2);
    assert.match(refused.last, /^refused: prune would remove 2 of the 3 documents of .*: more than half; .*--force; nothing was changed$/);
    assert.equal((await rows(assistant)).length, 3);
    const forced = await ingest(dir, assistant, { prune: true, force: true });
    assert.match(forced.last, /\(0 added, 0 updated, 1 unchanged, 2 removed\)/);
    assert.equal((await rows(assistant)).length, 1);
    assert.equal(existsSync(dir), true);
  });

  it('--dry-run lists what would be added, updated and removed with access, and writes nothing', async () => {
    const assistant = uniq('asst');
    const db = await testDb();
    const dir = tree({ 'keep.md': 'Keep.\n', 'edit.md': 'Before.\n', 'drop.md': 'Drop.\n', 'drop2.md': 'Drop two.\n' });
    await ingest(dir, assistant);
    const audits = (await listIngests(db, { assistant })).length;
    writeFileSync(join(dir, 'edit.md'), '---\naccess: [hr]\n---\nAfter.\n');
    writeFileSync(join(dir, 'new.md'), '---\naccess: [finance, legal]\n---\nNew.\n');
    rmSync(join(dir, 'drop.md'));
    const dry = await ingest(dir, assistant, { prune: true, dryRun: true });
    assert.equal(dry.code, 0);
    assert.ok(dry.lines.some((l) => /^would add +new\.md +\S+ +\(visible to: group:finance, group:legal\)$/.test(l)), dry.lines.join('\n'));
    assert.ok(dry.lines.some((l) => /^would update +edit\.md +\S+ +\(visible to: group:hr\)$/.test(l)));
    assert.ok(dry.lines.some((l) => /^would remove +drop\.md +\S+ +\(visible to: everyone\)$/.test(l)));
    assert.match(dry.last, /^dry run: would ingest 4 documents \(1 added, 1 updated, 2 unchanged, 1 removed\)/);
    const bodies = (await rows(assistant)).map((r) => r.body).sort();
    assert.deepEqual(bodies, ['Before.', 'Drop two.', 'Drop.', 'Keep.']);
    assert.equal((await listIngests(db, { assistant })).length, audits, 'a dry run is not recorded as an ingest');
  });

  it('`parley token` refuses a data dir without the server’s secret instead of inventing one', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'parley-nodata-')), 'data');
    const cfg = loadConfig({ PARLEY_DATA_DIR: dataDir, PARLEY_DEMO_DATA: 'false' });
    await assert.rejects(mintToken(cfg, { user: 'a@example.test', groups: [], ttl: 60 }), /no Parley data dir at .*secret\.key/);
    assert.equal(existsSync(dataDir), false, 'nothing was created');
  });
});
