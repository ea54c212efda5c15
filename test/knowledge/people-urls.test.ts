import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { createKnowledge } from '../../src/knowledge/knowledge.ts';
import { parseSources } from '../../src/knowledge/parse.ts';
import { testDb, uniq } from '../support/db.ts';
import { FIXTURES } from './support.ts';

describe('citation urls come from the data or the configuration, never from the demo', () => {
  it('cites people at the configured directory, else by mailto: (or a urn without an email)', async () => {
    const db = await testDb();
    const [configured, plain] = [uniq('asst'), uniq('asst')];
    const people = (await parseSources(FIXTURES + 'people.csv')).people;
    const nomail = { ...people[0]!, id: 'nomail', email: '', name: 'No Mail Person' };
    for (const assistant of [configured, plain]) await applyIngest(db, { assistant, root: '/people', prune: false, documents: [], people: [...people, nomail] });
    const k = createKnowledge(db, { directoryUrls: { [configured]: 'https://hr.example.test/people/{id}?tab=profile' } });

    const p2 = await k.getPerson(configured, 'p2');
    assert.equal(p2?.url, 'https://hr.example.test/people/p2?tab=profile');
    assert.equal((await k.getPersonByUrl(configured, p2!.url))?.id, 'p2');

    const q2 = await k.getPerson(plain, 'p2');
    assert.equal(q2?.url, `mailto:${q2!.email}`);
    assert.equal((await k.getPersonByUrl(plain, q2!.url))?.id, 'p2');
    const none = await k.getPerson(plain, 'nomail');
    assert.equal(none?.url, 'urn:parley:person:nomail');
    assert.equal((await k.getPersonByUrl(plain, none!.url))?.id, 'nomail');

    const json = (await parseSources(FIXTURES + 'people.json')).people;
    await applyIngest(db, { assistant: plain, root: '/json', prune: false, documents: [], people: json });
    assert.equal((await k.getPerson(plain, 'j2'))?.url, 'https://people.example.test/omar', 'a url in the data wins');
  });

  it('gives non-demo data no acme.example link, with or without urls in its files', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const kb = await parseSources(FIXTURES + 'kb');
    const people = await parseSources(FIXTURES + 'people.csv');
    await applyIngest(db, { assistant, root: kb.root, prune: false, documents: kb.documents, people: people.people });
    const k = createKnowledge(db);
    const urls = [
      ...(await db.query<{ url: string }>('SELECT url FROM kb_documents WHERE assistant = $1', [assistant])).map((r) => r.url),
      ...(await Promise.all(people.people.map((p) => k.getPerson(assistant, p.id)))).map((p) => p!.url),
    ];
    assert.ok(urls.length > 10);
    assert.deepEqual(urls.filter((u) => /acme\.example/.test(u)), []);
    assert.ok(urls.includes('urn:parley:doc:misc/lost-and-found.txt'));
  });
});
