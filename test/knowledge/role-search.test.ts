// Role search on its own: a question's words against titles, departments and sites, as data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRoleIndex, searchRoles, type RoleRow } from '../../src/knowledge/role-search.ts';
import { fieldTerms, questionTerms, titleAcronyms } from '../../src/knowledge/role-terms.ts';

const ROWS: RoleRow[] = [
  { id: 'a', title: 'Managing Partner', department: 'Leadership', location: 'Main Studio', managerId: null },
  { id: 'b', title: 'Chief Operating Officer', department: 'Operations', location: 'Main Studio', managerId: 'a' },
  { id: 'c', title: 'Assistant to the COO', department: 'Operations', location: 'Main Studio', managerId: 'b' },
  { id: 'd', title: 'Studio Manager, Lakeside', department: 'Operations', location: 'Lakeside Studio', managerId: 'b' },
  { id: 'e', title: 'Sound Engineer', department: 'Production', location: 'Lakeside Studio', managerId: 'd' },
  { id: 'f', title: 'Senior Sound Engineer', department: 'Production', location: 'Main Studio', managerId: 'b' },
  { id: 'g', title: 'Bookkeeper', department: 'Finance', location: 'Main Studio', managerId: 'b' },
  // A reporting cycle in bad data must not hang the index.
  { id: 'x', title: 'Intern', department: 'Archive', location: 'Main Studio', managerId: 'y' },
  { id: 'y', title: 'Intern', department: 'Archive', location: 'Main Studio', managerId: 'x' },
];
const index = buildRoleIndex(ROWS);
const ids = (q: string, opts = {}) => searchRoles(index, q, opts).matches.map((m) => m.id);

describe('role search', () => {
  it('expands title abbreviations on both sides, only in capitals for ordinary words', () => {
    assert.deepEqual(fieldTerms('IT Manager').slice(0, 3), ['it', 'inform', 'technolog']);
    assert.deepEqual(questionTerms('is it ready').map((g) => g.word), ['ready']);
    assert.deepEqual(questionTerms('who runs IT').find((g) => g.word === 'it')?.alternatives[1], ['inform', 'technolog']);
  });

  it('finds the holder of an abbreviated title before the assistant "to" that title', () => {
    const m = searchRoles(index, 'the COO').matches;
    assert.equal(m[0]?.id, 'b');
    assert.equal(m[1]?.id, 'c');
    assert.ok(m[0]!.score > m[1]!.score);
  });

  it('weighs rare words above common ones and ignores words the directory never uses', () => {
    assert.equal(ids('who is the bookkeeper around here these days')[0], 'g');
    const found = searchRoles(index, 'sound engineer at lakeside');
    assert.equal(found.matches[0]?.id, 'e', 'the site narrows two sound engineers to one');
    assert.deepEqual(found.known, ['sound', 'engineer', 'lakeside']);
    assert.equal(found.asked, 3);
    assert.deepEqual(searchRoles(index, 'quantum teleportation').matches, []);
  });

  it('reports the field each word matched, the title head and the reporting depth', () => {
    const [m] = searchRoles(index, 'studio manager lakeside').matches;
    assert.equal(m?.id, 'd');
    assert.equal(m?.headMatched, true);
    assert.equal(m?.depth, 2);
    assert.equal(m?.reports, 1);
    const prod = searchRoles(index, 'production').matches.find((h) => h.id === 'e');
    assert.deepEqual(prod?.fields, { title: [], department: ['production'], location: [] });
  });

  it('ranks by seniority for leadership questions, and honours within/exclude', () => {
    assert.equal(ids('production', { seniority: true })[0], 'f');
    assert.deepEqual(ids('sound engineer', { within: ['e'] }), ['e']);
    assert.ok(!ids('sound engineer', { exclude: ['e'] }).includes('e'));
  });

  it('reads an abbreviation in capitals, or its plural, as the initials of the directory\'s own titles', () => {
    assert.deepEqual(titleAcronyms('Studio Manager, Lakeside').map((a) => a.acronym), ['sm']);
    assert.deepEqual(titleAcronyms('Director of Nursing').map((a) => a.acronym), ['dn', 'don']);
    assert.deepEqual(titleAcronyms('HR Business Partner').map((a) => a.acronym), ['hrbp']);
    assert.deepEqual(titleAcronyms('Bookkeeper'), []);
    assert.deepEqual(titleAcronyms('Imaging Technician'), [], 'not the ordinary word "it"');
    assert.equal(questionTerms('the SSEs')[0]?.acronym, 'sse');
    assert.equal(questionTerms('the sses')[0]?.acronym, undefined, 'only typed in capitals');
    assert.deepEqual(ids('who is the SSE?'), ['f']);
    assert.deepEqual(ids('the SMs').slice(0, 1), ['d']);
    assert.deepEqual(ids('who are the sms'), [], 'lower case is a word, not initials');
    // The tables' own expansions come first when the directory uses them ("COOs" are chief operating officers).
    assert.equal(ids('the COOs')[0], 'b');
  });

  it('survives reporting cycles', () => {
    const cyc = searchRoles(index, 'intern').matches;
    assert.equal(cyc.length, 2);
  });
});
