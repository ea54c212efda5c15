import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { parseSources } from '../../src/knowledge/parse.ts';
import type { ParsedSources, SourceDocument } from '../../src/knowledge/sources.ts';
import { FIXTURES } from './support.ts';

describe('parseSources', () => {
  let kb: ParsedSources;
  let byPath: Map<string, SourceDocument>;
  before(async () => {
    kb = await parseSources(FIXTURES + 'kb');
    byPath = new Map(kb.documents.map((d) => [d.path, d]));
  });

  it('reads Markdown front matter: title, url, updated time, access list, tags', async () => {
    const d = byPath.get('it/vpn-reset.md');
    assert.ok(d);
    assert.equal(d.format, 'markdown');
    assert.equal(d.title, 'Resetting your VPN password');
    assert.equal(d.url, 'https://kb.example.test/it/vpn-reset');
    assert.equal(d.updatedAt, '2026-05-01T10:00:00.000Z');
    assert.deepEqual(d.access, ['*']);
    assert.deepEqual(d.tags, ['vpn', 'password']);
    assert.ok(!d.body.startsWith('---'), 'front matter is not part of the body');
    const hr = byPath.get('hr/quantum-forecast.md');
    assert.deepEqual(hr?.access, ['email:grace.hopper@example.test', 'group:hr']);
  });

  it('converts HTML to CommonMark and merges the .meta.json sidecar', async () => {
    const d = byPath.get('facilities/parking.html');
    assert.ok(d);
    assert.equal(d.format, 'html');
    assert.equal(d.title, 'Parking at the office');
    assert.equal(d.url, 'https://kb.example.test/facilities/parking');
    assert.equal(d.updatedAt, '2026-03-03T08:00:00.000Z');
    assert.match(d.body, /^## Electric vehicles$/m);
    assert.match(d.body, /^- Chargers are on level P2\.$/m);
    assert.match(d.body, /level \*\*P2\*\*/);
    assert.match(d.body, /P1 & must register/);
    assert.doesNotMatch(d.body, /console\.log|Home/);
    assert.ok(!kb.documents.some((x) => x.path.endsWith('.meta.json')), 'sidecars are not documents');
  });

  it('turns capitalised lines of plain text into headings and takes the title from the first', async () => {
    const d = byPath.get('misc/lost-and-found.txt');
    assert.ok(d);
    assert.equal(d.format, 'text');
    assert.equal(d.title, 'Lost and found');
    assert.match(d.body, /^## Who to contact$/m);
    // No url in the file and no base configured: an honest identifier, not a made-up link.
    assert.equal(d.url, 'urn:parley:doc:misc/lost-and-found.txt');
  });

  it('reports bad files by path and reason and still loads the rest', async () => {
    const bad = await parseSources(FIXTURES + 'bad');
    const reasons = new Map(bad.errors.map((e) => [e.path, e.reason]));
    assert.match(reasons.get('broken.md') ?? '', /^invalid front matter/);
    assert.match(reasons.get('bad-url.md') ?? '', /absolute http/);
    assert.match(reasons.get('empty.md') ?? '', /empty document/);
    assert.match(reasons.get('sidecar-broken.txt') ?? '', /invalid sidecar/);
    assert.deepEqual(bad.documents.map((d) => d.path), ['good.md']);
    const good = bad.documents[0]!;
    assert.equal(good.title, 'Sidecar title');
    assert.deepEqual(good.access, ['group:finance', 'group:legal']);
  });

  it('reports a missing path instead of throwing', async () => {
    const out = await parseSources(FIXTURES + 'no-such-dir');
    assert.equal(out.documents.length, 0);
    assert.match(out.errors[0]?.reason ?? '', /no such file/);
  });

  it('reads a CSV directory and resolves managers by id, email or name', async () => {
    const p = await parseSources(FIXTURES + 'people.csv');
    assert.equal(p.errors.length, 0);
    assert.equal(p.people.length, 7);
    const byId = new Map(p.people.map((x) => [x.id, x]));
    assert.equal(byId.get('p2')?.managerId, 'p1'); // by email
    assert.equal(byId.get('p3')?.managerId, 'p2'); // by id
    assert.equal(byId.get('p7')?.managerId, 'p5'); // by name
    assert.equal(byId.get('p1')?.managerId, null);
    assert.deepEqual(byId.get('p2')?.groups, ['employees', 'engineering', 'managers']);
    assert.equal(byId.get('p2')?.name, 'José Álvarez');
  });

  it('reads a JSON directory with other column names and reports invalid people', async () => {
    const p = await parseSources(FIXTURES + 'people.json');
    const byId = new Map(p.people.map((x) => [x.id, x]));
    assert.equal(byId.get('j1')?.name, 'Marta Nowak');
    assert.equal(byId.get('j1')?.email, 'marta.nowak@example.test');
    assert.equal(byId.get('j1')?.title, 'Controller');
    assert.equal(byId.get('j1')?.department, 'Finance');
    assert.equal(byId.get('j2')?.managerId, 'j1');
    assert.equal(byId.get('j2')?.url, 'https://people.example.test/omar');
    assert.ok(!byId.has('j3'), 'a person without a name is dropped');
    assert.ok(p.errors.some((e) => /needs a name/.test(e.reason)));
    assert.ok(p.errors.some((e) => /manager "does-not-exist"/.test(e.reason)));
    assert.equal(byId.get('j4')?.managerId, null);
  });

  it('produces JSON-serialisable output', async () => {
    assert.deepEqual(JSON.parse(JSON.stringify(kb)), kb);
  });
});
