import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { createKnowledge } from '../../src/knowledge/knowledge.ts';
import { principalsOf, resolvePrincipals } from '../../src/knowledge/principals.ts';
import type { SourceDocument } from '../../src/knowledge/sources.ts';
import { phraseLexemes, termPresent, termQuery } from '../../src/knowledge/query.ts';
import { testDb, uniq } from '../support/db.ts';
import { ingestFixtures } from './support.ts';

describe('search', () => {
  const assistant = uniq('asst');
  before(async () => {
    await ingestFixtures(await testDb(), assistant);
  });

  it('filters by access before ranking: a restricted passage that would rank first is absent for outsiders', async () => {
    const k = createKnowledge(await testDb());
    const q = 'quantum budget forecast';
    const insider = await k.search(assistant, ['*', 'group:hr'], q);
    assert.equal(insider[0]?.url, 'https://kb.example.test/hr/quantum-forecast', 'insiders get the restricted document first');
    const outsider = await k.search(assistant, ['*', 'group:engineering'], q);
    assert.ok(outsider.length > 0, 'the public passage is still found');
    assert.ok(outsider.every((h) => h.url !== 'https://kb.example.test/hr/quantum-forecast'));
    assert.equal(outsider[0]?.url, 'https://kb.example.test/it/lab');
    // A verified email principal, case-insensitively (principalsOf lower-cases it).
    const byEmail = await k.search(assistant, principalsOf({ id: 'u-g', email: 'Grace.Hopper@Example.test', emailVerified: true, groups: [] }), q);
    assert.equal(byEmail[0]?.url, 'https://kb.example.test/hr/quantum-forecast');
  });

  it('fills a small limit with visible passages even when many hidden ones match better', async () => {
    const db = await testDb();
    const own = uniq('asst');
    const hidden: SourceDocument[] = Array.from({ length: 12 }, (_, i) => ({
      path: `h${i}.md`, format: 'markdown', title: `Walrus tusk report ${i}`, url: `https://kb.example.test/h${i}`,
      updatedAt: null, access: ['secret-club'], body: 'Walrus tusk walrus tusk walrus tusk measurements.',
    }));
    const visible: SourceDocument = {
      path: 'v.md', format: 'markdown', title: 'Zoo notes', url: 'https://kb.example.test/v', updatedAt: null, access: ['*'],
      body: 'One walrus has a chipped tusk.',
    };
    await applyIngest(db, { assistant: own, root: '/r', prune: false, documents: [...hidden, visible], people: [] });
    const k = createKnowledge(db);
    const hits = await k.search(own, ['*'], 'walrus tusk', { limit: 3 });
    assert.deepEqual(hits.map((h) => h.url), ['https://kb.example.test/v']);
    const members = await k.search(own, ['*', 'group:secret-club'], 'walrus tusk', { limit: 3 });
    assert.equal(members.length, 3);
    assert.ok(members.every((h) => h.url !== 'https://kb.example.test/v'), 'better matches rank first for members');
  });

  it('returns passages with heading, text, date and coverage, and falls back to OR when AND finds nothing', async () => {
    const k = createKnowledge(await testDb());
    const [hit] = await k.search(assistant, ['*'], 'How do I reset my VPN password?');
    assert.ok(hit);
    assert.equal(hit.title, 'Resetting your VPN password');
    assert.equal(hit.heading, 'How to reset your VPN password');
    assert.match(hit.text, /vpn\.example\.test\/reset/);
    assert.equal(hit.updatedAt, '2026-05-01T10:00:00.000Z');
    assert.equal(hit.coverage, 1);
    const or = await k.search(assistant, ['*'], 'VPN password zebra');
    assert.ok(or.length > 0, 'finds passages without "zebra"');
    // A word no visible passage uses carries no evidence: coverage counts the known words only, while `unseen`
    // and `support` say that part of the question is about something the knowledge base never mentions.
    assert.equal(or[0]!.coverage, 1);
    assert.deepEqual(or[0]!.unseenWords, ['zebra']);
    assert.ok((or[0]!.support ?? 1) < 0.8, `support ${or[0]!.support}`);
    const partial = await k.search(assistant, ['*'], 'VPN password parking');
    assert.ok(partial.length > 0 && (partial[0]!.coverage ?? 1) < 1, 'a known word the passage lacks lowers coverage');
  });

  it('tolerates typos and other word forms of words the passages use', async () => {
    const k = createKnowledge(await testDb());
    const [hit] = await k.search(assistant, ['*'], 'electrc vehicles');
    assert.equal(hit?.url, 'https://kb.example.test/facilities/parking');
    assert.equal(hit?.coverage, 1);
  });

  it('knows a few synonyms, phrases included, and words written as one', async () => {
    const db = await testDb();
    const own = uniq('asst');
    const mk = (path: string, body: string): SourceDocument => ({ path, format: 'markdown', title: path, url: `https://kb.example.test/${path}`, updatedAt: null, access: ['*'], body });
    await applyIngest(db, {
      assistant: own, root: '/r', prune: false, people: [],
      documents: [
        mk('air', 'Business class is allowed on flights longer than 10 hours.'),
        mk('pay', 'Employees in the United Kingdom are paid on the 25th of each month.'),
        mk('kingdom', 'The kingdom of fungi is large.'),
        mk('desk', 'Book a hot desk for the day in the desk app.'),
        mk('notice', 'Pin the rota to the board with a clip.'),
      ],
    });
    const k = createKnowledge(db);
    const [fly] = await k.search(own, ['*'], 'Can I fly business class?');
    assert.equal(fly?.url, 'https://kb.example.test/air');
    assert.equal(fly?.coverage, 1);
    const [uk] = await k.search(own, ['*'], 'When do UK employees get paid?');
    assert.equal(uk?.url, 'https://kb.example.test/pay');
    assert.equal(uk?.coverage, 1);
    const [desk] = await k.search(own, ['*'], 'hotdesk');
    assert.equal(desk?.url, 'https://kb.example.test/desk');
    // Only side by side: a passage with the halves apart is not about a "clipboard".
    assert.deepEqual(await k.search(own, ['*'], 'clipboard'), []);
  });

  it('finds nothing for stop words only, and nothing for an unknown assistant', async () => {
    const k = createKnowledge(await testDb());
    assert.deepEqual(await k.search(assistant, ['*'], 'what is the'), []);
    assert.deepEqual(await k.search(uniq('nobody'), ['*'], 'VPN password'), []);
  });

  it('adds the directory groups of the asking user to their principals', async () => {
    const k = createKnowledge(await testDb());
    const p = await resolvePrincipals(k, assistant, { id: 'u-1', email: 'Zoe.Brennan@example.test', emailVerified: true, groups: ['Extra'] });
    assert.deepEqual(new Set(p), new Set(['*', 'user:u-1', 'email:zoe.brennan@example.test', 'group:extra', 'group:employees', 'group:hr']));
    const stranger = await resolvePrincipals(k, assistant, { id: 'u-2', email: 'nobody@example.test', emailVerified: true, groups: [] });
    assert.deepEqual(new Set(stranger), new Set(['*', 'user:u-2', 'email:nobody@example.test']));
    // An unverified email claim names nobody: neither the address nor that person's directory groups.
    const claimed = await resolvePrincipals(k, assistant, { id: 'anyone', email: 'Zoe.Brennan@example.test', groups: [] });
    assert.deepEqual(new Set(claimed), new Set(['*', 'user:anyone']));
    // A subject that is itself the address (an identity provider using emails as subjects) selects the entry.
    const bySub = await resolvePrincipals(k, assistant, { id: 'zoe.brennan@example.test', groups: [] });
    assert.ok(bySub.includes('group:hr') && !bySub.includes('email:zoe.brennan@example.test'));
  });
});

describe('thesaurus phrases with a stop word inside', () => {
  it('keeps the gap a stop word leaves, so "leave of absence" matches a passage that says it', async () => {
    assert.deepEqual(phraseLexemes("'leav' <2> 'absenc'"), ['leav', '', 'absenc']);
    assert.deepEqual(phraseLexemes("'lost' <2> 'stolen' <-> 'card'"), ['lost', '', 'stolen', 'card']);
    const term = { lexeme: 'leav absenc', text: 'leave of absence', alts: [['leav', '', 'absenc'], ['sabbat']], idf: 1, seen: true };
    assert.equal(termQuery(term), "('leav' <2> 'absenc' | 'sabbat')");
    assert.ok(termPresent(term, new Set(['leav', 'absenc'])));
    const db = await testDb();
    const [hit] = await db.query<{ yes: boolean; strict: boolean }>(
      `SELECT to_tsvector('english', 'Ask HR for a leave of absence.') @@ $1::tsquery AS yes,
              to_tsvector('english', 'Ask HR for a leave of absence.') @@ $2::tsquery AS strict`,
      [termQuery(term), "'leav' <-> 'absenc'"],
    );
    assert.equal(hit?.strict, false, 'words joined as adjacent never match across the stop word');
    assert.equal(hit?.yes, true);
  });
});
