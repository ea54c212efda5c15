import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createKnowledge } from '../../src/knowledge/knowledge.ts';
import { editDistance, normalizeName } from '../../src/knowledge/fuzzy.ts';
import { testDb, uniq } from '../support/db.ts';
import { ingestFixtures } from './support.ts';

describe('people directory', () => {
  const assistant = uniq('asst');
  before(async () => {
    await ingestFixtures(await testDb(), assistant);
  });
  const names = async (q: string) => (await createKnowledge(await testDb()).findPeople(assistant, q)).map((m) => m.person.name);

  it('matches full names exactly with score 1, ignoring case and accents', async () => {
    const k = createKnowledge(await testDb());
    const [m] = await k.findPeople(assistant, 'jose alvarez');
    assert.equal(m?.person.name, 'José Álvarez');
    assert.equal(m?.score, 1);
    assert.deepEqual(await names('ZOE BRENNAN'), ['Zoë Brennan']);
  });

  it('matches a first or last name alone, lower than a full match', async () => {
    const k = createKnowledge(await testDb());
    const [m] = await k.findPeople(assistant, 'Lovelace');
    assert.equal(m?.person.name, 'Ada Lovelace');
    assert.ok(m!.score < 1 && m!.score >= 0.85);
    assert.deepEqual((await names('alan')).sort(), ['Alan Kay', 'Alan Turing']);
  });

  it('tolerates small typos and finds people by email', async () => {
    assert.deepEqual(await names('Ada Lovelase'), ['Ada Lovelace']);
    assert.deepEqual(await names('Alan Turnig'), ['Alan Turing']);
    assert.deepEqual(await names('linus.berg@example.test'), ['Linus Berg']);
    assert.deepEqual(await names('Xavier Quux'), []);
  });

  it('returns full entries with manager name and a directory URL', async () => {
    const k = createKnowledge(await testDb(), { directoryBaseUrl: 'https://dir.example.test/p' });
    const p = await k.getPersonByEmail(assistant, 'ADA.LOVELACE@example.test');
    assert.equal(p?.managerName, 'José Álvarez');
    assert.equal(p?.url, 'https://dir.example.test/p/p3');
    assert.equal((await k.getPerson(assistant, 'p3'))?.email, 'ada.lovelace@example.test');
    assert.equal((await k.getPersonByUrl(assistant, 'https://dir.example.test/p/p3'))?.id, 'p3');
    assert.equal(await k.getPerson(assistant, 'nope'), null);
  });

  it('lists direct reports, departments and department heads', async () => {
    const k = createKnowledge(await testDb());
    assert.deepEqual((await k.directReports(assistant, 'p2')).map((p) => p.name), ['Ada Lovelace', 'Alan Turing']);
    assert.deepEqual(await k.departments(assistant), ['Engineering', 'Executive', 'HR', 'Sales']);
    assert.equal((await k.departmentHead(assistant, 'engineering'))?.name, 'José Álvarez');
    assert.equal((await k.departmentHead(assistant, 'Sales'))?.name, 'Alan Kay');
    assert.equal(await k.departmentHead(assistant, 'Marketing'), null);
  });

  it('finds people by job title, expanding acronyms', async () => {
    const k = createKnowledge(await testDb());
    assert.equal((await k.findPeopleByTitle(assistant, 'CEO'))[0]?.person.name, 'Grace Hopper');
    assert.equal((await k.findPeopleByTitle(assistant, 'vp of engineering'))[0]?.person.name, 'José Álvarez');
    assert.deepEqual(await k.findPeopleByTitle(assistant, 'astronaut'), []);
  });

  it('sees directory changes made after the first lookup', async () => {
    const db = await testDb();
    const own = uniq('asst');
    const k = createKnowledge(db);
    await ingestFixtures(db, own);
    assert.deepEqual((await k.findPeople(own, 'Nadia Petrova')).length, 0);
    const { applyIngest } = await import('../../src/knowledge/ingest.ts');
    await applyIngest(db, {
      assistant: own, root: '/x', prune: false, documents: [],
      people: [{ id: 'n1', name: 'Nadia Petrova', email: 'nadia@example.test', title: '', department: '', location: '', phone: '', managerId: null, groups: [], url: null }],
    });
    assert.equal((await k.findPeople(own, 'Nadia Petrova'))[0]?.person.id, 'n1');
  });
});

describe('fuzzy helpers', () => {
  it('normalises names and measures edit distance with transpositions', () => {
    assert.equal(normalizeName("Siobhán O'Connor-Łukasz"), 'siobhan oconnor lukasz');
    assert.equal(normalizeName('Selin Aydın'), 'selin aydin');
    assert.equal(editDistance('turing', 'turnig'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('a', 'abcdefgh', 2), 3);
  });
});
