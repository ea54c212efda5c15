import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KnowledgeHit, Person } from '../../src/knowledge/types.ts';
import { SourceRegistry } from '../../src/assistant/llm/sources.ts';

const hit = (documentId: string, chunk: string, text: string): KnowledgeHit => ({
  documentId,
  chunkId: `${documentId}#${chunk}`,
  url: `https://wiki.example.com/${documentId}`,
  title: `Doc ${documentId}`,
  heading: '',
  text,
  updatedAt: '2025-03-01T00:00:00Z',
  score: 1,
});

const person: Person = {
  id: 'p1',
  name: 'Mei Chen',
  email: 'mei@example.com',
  title: 'IT Manager',
  department: 'IT',
  location: 'Berlin',
  phone: '',
  managerId: 'p0',
  managerName: 'Ada Park',
  groups: ['it'],
  url: 'https://people.example.com/p1',
};

describe('SourceRegistry', () => {
  it('keeps one number per document across hits and tool calls', () => {
    const s = new SourceRegistry();
    assert.equal(s.addHit(hit('a', '0', 'first')), 1);
    assert.equal(s.addPerson(person), 2);
    assert.equal(s.addHit(hit('a', '1', 'second')), 1);
    assert.equal(s.addHit(hit('b', '0', 'other')), 3);
    assert.equal(s.addPerson(person), 2);
    assert.equal(s.size, 3);
  });

  it('resolves only known numbers, one citation per source, in order of first reference', () => {
    const s = new SourceRegistry();
    s.addHit(hit('a', '0', 'first passage'));
    s.addHit(hit('a', '1', 'second passage'));
    s.addPerson(person);
    const r = s.resolve(
      [
        { n: 2, offset: 5 },
        { n: 9, offset: 5 },
        { n: 1, offset: 10 },
        { n: 2, offset: 10 },
        { n: 2, offset: 10 },
      ],
      10,
    );
    assert.deepEqual(r.references, [
      { key: 'person:p1', offset: 5 },
      { key: 'doc:a', offset: 10 },
      { key: 'person:p1', offset: 10 },
    ]);
    assert.deepEqual(
      r.citations.map((c) => c.key),
      ['person:p1', 'doc:a'],
    );
    const [p, d] = r.citations;
    assert.equal(p?.body, 'Mei Chen is IT Manager in IT, reporting to Ada Park.');
    assert.deepEqual(p?.attributes, [
      { key: 'EMAIL', value: 'mei@example.com' },
      { key: 'MANAGER', value: 'Ada Park' },
      { key: 'DEPARTMENT', value: 'IT' },
      { key: 'TITLE', value: 'IT Manager' },
    ]);
    assert.equal(d?.body, 'first passage\n\nsecond passage');
    assert.deepEqual(d?.attributes, [
      { key: 'UPDATE_DATETIME', value: '2025-03-01T00:00:00Z' },
      { key: 'SOURCE', value: 'wiki.example.com' },
    ]);
  });

  it('returns nothing when no marker matches a source', () => {
    const s = new SourceRegistry();
    assert.deepEqual(s.resolve([{ n: 1, offset: 0 }], 0), { citations: [], references: [] });
  });
});
