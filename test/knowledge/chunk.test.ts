import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkDocument } from '../../src/knowledge/chunk.ts';
import { countWords, splitSentences } from '../../src/knowledge/sentences.ts';

const SENTENCES = [
  'Dr. Smith approved the plan on Jan. 5 at 9:30 a.m. after a long review.',
  'The budget grew by 3.5 percent, e.g. for travel and training.',
  'Is this the final number?',
  'Yes!',
  'J. R. Tolkien wrote about it in the U.S. edition of the report.',
];

describe('sentences', () => {
  it('splits prose at sentence ends but not at abbreviations, initials or decimals', () => {
    const spans = splitSentences(SENTENCES.join(' '));
    assert.deepEqual(spans.map((s) => s.text), SENTENCES);
  });

  it('splits CJK text at the ideographic full stop and keeps offsets exact', () => {
    const text = '京都で会議があります。参加してください。Then we travel.';
    const spans = splitSentences(text);
    assert.deepEqual(spans.map((s) => s.text), ['京都で会議があります。', '参加してください。', 'Then we travel.']);
    for (const s of spans) assert.equal(text.slice(s.start, s.end), s.text);
  });

  it('counts words', () => {
    assert.equal(countWords('one two, three-four'), 3);
    assert.equal(countWords(''), 0);
  });
});

describe('chunkDocument', () => {
  const para = (n: number, tag: string) =>
    Array.from({ length: n }, (_, i) => `Sentence ${tag}${i} explains one more detail about the ${tag} policy for everyone.`).join(' ');

  it('keeps a heading path per chunk and leaves out an H1 that repeats the title', () => {
    const md = `# Travel\n\nIntro text here.\n\n## Flights\n\nBook early.\n\n### Upgrades\n\nBusiness class over 10 hours.\n\n## Hotels\n\nStay close.`;
    const chunks = chunkDocument('Travel', md);
    assert.deepEqual(chunks.map((c) => c.heading), ['', 'Flights', 'Flights > Upgrades', 'Hotels']);
    assert.deepEqual(chunks.map((c) => c.ord), [0, 1, 2, 3]);
    assert.equal(chunks[2]!.text, 'Business class over 10 hours.');
  });

  it('splits long sections between sentences, never inside one, into chunks of at most ~300 words', () => {
    const md = `## Long\n\n${para(40, 'a')}\n\n${para(45, 'b')}`;
    const chunks = chunkDocument('Doc', md);
    assert.ok(chunks.length >= 3, `expected several chunks, got ${chunks.length}`);
    for (const c of chunks) {
      assert.ok(countWords(c.text) <= 300, `chunk of ${countWords(c.text)} words`);
      assert.ok(countWords(c.text) >= 100, `chunk of ${countWords(c.text)} words is too small`);
      assert.equal(c.heading, 'Long');
    }
    // Every original sentence appears whole in exactly one chunk.
    const all = splitSentences(`${para(40, 'a')} ${para(45, 'b')}`).map((s) => s.text);
    for (const s of all) assert.equal(chunks.filter((c) => c.text.includes(s)).length, 1, s);
  });

  it('keeps an introduction ending in ":" with the list it introduces', () => {
    const items = Array.from({ length: 30 }, (_, i) => `${i + 1}. Step number ${i + 1} of the procedure is done carefully by the requester.`);
    const md = `## Steps\n\n${para(14, 'c')}\n\nFollow these steps:\n\n${items.join('\n')}`;
    const chunks = chunkDocument('Doc', md);
    const withIntro = chunks.find((c) => c.text.includes('Follow these steps:'));
    assert.ok(withIntro);
    assert.match(withIntro.text, /Follow these steps:\n\n1\. Step number 1/);
  });

  it('keeps list items and fenced code intact', () => {
    const md = '## Setup\n\n- first item\n- second item\n\n```sh\nnpm install\n\nnpm test\n```';
    const [c] = chunkDocument('Doc', md);
    assert.equal(c!.text, '- first item\n- second item\n\n```sh\nnpm install\n\nnpm test\n```');
  });
});
