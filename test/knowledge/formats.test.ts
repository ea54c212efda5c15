import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chunkDocument } from '../../src/knowledge/chunk.ts';
import { parseSources } from '../../src/knowledge/parse.ts';
import { parseColumnMap } from '../../src/knowledge/parse-people.ts';
import { makeDocx, makePdf } from './make-pdf.ts';
import { tree } from './support.ts';

describe('ingest formats', () => {
  it('reads a PDF page by page: pages become sections a citation can name', async () => {
    const pdf = makePdf([['Travel policy', 'Trips over 3 days need approval.'], ['Per diem', 'In London the per diem is 80 GBP a day.']], 'Travel Handbook');
    const dir = tree({ 'handbook.pdf': pdf, 'handbook.pdf.meta.json': '{"url": "https://kb.example.test/handbook", "access": ["staff"]}' });
    const out = await parseSources(dir);
    assert.deepEqual(out.errors, []);
    const d = out.documents[0]!;
    assert.equal(d.format, 'pdf');
    assert.equal(d.title, 'Travel Handbook');
    assert.deepEqual(d.access, ['group:staff']);
    assert.match(d.body, /^## Page 1\n\nTravel policy\nTrips over 3 days need approval\.\n\n## Page 2\n\nPer diem\nIn London the per diem is 80 GBP a day\.$/);
    const chunk = chunkDocument(d.title, d.body).find((c) => c.text.includes('80 GBP'));
    assert.equal(chunk?.heading, 'Page 2');
  });

  it('reads a DOCX keeping its headings', async () => {
    const docx = await makeDocx([
      { style: 'h1', text: 'Expense rules' },
      { text: 'Receipts are required for every claim.' },
      { style: 'h2', text: 'Meals' },
      { text: 'Dinner is reimbursed up to 40 euros <script>x</script>.' },
    ]);
    const out = await parseSources(tree({ 'expenses.docx': docx }));
    assert.deepEqual(out.errors, []);
    const d = out.documents[0]!;
    assert.equal(d.format, 'docx');
    assert.equal(d.title, 'Expense rules');
    assert.match(d.body, /^# Expense rules\n\nReceipts are required for every claim\.\n\n## Meals\n\nDinner is reimbursed up to 40 euros \\<script>x\\<\/script>\.$/);
    assert.equal(chunkDocument(d.title, d.body).find((c) => c.text.includes('40 euros'))?.heading, 'Meals', 'the H1 repeats the title, so the path starts below it');
  });

  it('refuses broken PDFs and DOCX files and zip bombs by name, never crashing', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024 + 10, 0x20);
    const dir = tree({ 'broken.pdf': '%PDF-1.4 not really', 'broken.docx': 'not a zip', 'ok.md': 'Fine.\n' });
    // A zip whose central directory claims 3 GiB unpacked: refused before it is opened.
    const bomb = await makeDocx([{ text: 'x' }]);
    const eocd = bomb.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const cd = bomb.readUInt32LE(eocd + 16);
    bomb.writeUInt32LE(0xc0000000, cd + 24);
    writeFileSync(join(dir, 'bomb.docx'), bomb);
    const out = await parseSources(dir, { maxFileBytes: 2 * 1024 * 1024 });
    writeFileSync(join(dir, 'huge.md'), big);
    const out2 = await parseSources(dir, { maxFileBytes: 2 * 1024 * 1024 });
    const reasons = new Map([...out.errors, ...out2.errors].map((e) => [e.path, e.reason]));
    assert.match(reasons.get('broken.pdf') ?? '', /not a readable PDF/);
    assert.match(reasons.get('broken.docx') ?? '', /not a readable DOCX/);
    assert.match(reasons.get('bomb.docx') ?? '', /DOCX unpacks to .* over the 256 MiB limit/);
    assert.equal(reasons.get('huge.md'), 'file is 2.0 MiB, over the 2 MiB limit for one file');
    assert.deepEqual(out.documents.map((d) => d.path), ['ok.md']);
  });

  it('detects text encodings: Windows-1252 converted and reported, UTF-16 and BOMs read', async () => {
    const latin = Buffer.from('# Caf\xe9 menu\n\nCr\xe8me br\xfbl\xe9e costs 5 \x80 \x96 na\xefve.\n', 'latin1');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('# Ünïcode page\n\nText in UTF-16.\n', 'utf16le')]);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('---\ntitle: Bom\n---\nCafé.\n')]);
    const out = await parseSources(tree({ 'latin.txt': latin, 'wide.md': utf16, 'bom.md': bom, 'photo.png': Buffer.from([0x89, 0x50]) }));
    assert.deepEqual(out.errors, []);
    const by = new Map(out.documents.map((d) => [d.path, d]));
    assert.equal(by.get('latin.txt')?.title, 'Café menu');
    assert.match(by.get('latin.txt')!.body, /Crème brûlée costs 5 € – naïve\./);
    assert.equal(by.get('wide.md')?.title, 'Ünïcode page');
    assert.equal(by.get('bom.md')?.title, 'Bom');
    const notes = new Map((out.notices ?? []).map((n) => [n.path, n.reason]));
    assert.equal(notes.get('latin.txt'), 'read as Windows-1252 (not UTF-8) and converted');
    assert.equal(notes.get('wide.md'), 'read as UTF-16LE (not UTF-8) and converted');
    assert.equal(notes.has('bom.md'), false);
    assert.match(notes.get('photo.png') ?? '', /^skipped: \.png files are not a supported format$/);
  });

  it('people CSV: reports columns it does not read, and --map reads one as a field', async () => {
    const csv = 'Full Name,Work Email,Reports To (Name),Cost Center\nAnn Lee,ann@example.test,,CC1\nBo Chan,bo@example.test,Ann Lee,CC2\n';
    const dir = tree({ 'staff.csv': csv });
    const plain = await parseSources(dir);
    assert.deepEqual(plain.notices, [{ path: 'staff.csv', reason: 'columns not read: "Reports To (Name)", "Cost Center" (read one with --map "Column=field")' }]);
    assert.equal(plain.people.find((p) => p.name === 'Bo Chan')?.managerId, null);
    const mapped = await parseSources(dir, { columnMap: parseColumnMap(['Reports To (Name)=manager']) });
    assert.deepEqual(mapped.notices?.map((n) => n.reason), ['columns not read: "Cost Center" (read one with --map "Column=field")']);
    assert.equal(mapped.people.find((p) => p.name === 'Bo Chan')?.managerId, 'ann');
    assert.throws(() => parseColumnMap(['Reports To=boss']), /--map "Reports To=boss": expected "Column name=field" with a field among id, name/);
  });
});
