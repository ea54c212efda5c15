/**
 * The back-off lexicon (src/knowledge/lexicon.ts): everyday words mapped to the words documents use, consulted only
 * for a question word no visible passage uses (retrieval) or no candidate sentence holds (sentence choice).
 * Invented company content throughout.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { bridgeUnits, contentStems, unitsOf } from '../../src/assistant/offline/extract.ts';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { backoffOf, backoffWithSynonyms, isLexiconWord, lexiconSpans, lexiconStats } from '../../src/knowledge/lexicon.ts';
import { analyzeQuery, BACKOFF_WEIGHT, MAX_BACKOFF_ALTS, queryWords } from '../../src/knowledge/query.ts';
import { testDb, uniq } from '../support/db.ts';
import { finalAnswer, markdownDoc } from './support.ts';

const doc = markdownDoc('https://kb.lexicon.test');

describe('back-off lexicon: the map', () => {
  it('maps everyday words, slang and their inflections to the words policies use', () => {
    assert.ok(backoffOf('puke').includes('vomiting'));
    assert.ok(backoffOf('puking').includes('vomiting'), 'an inflection finds its base form');
    // …but never a three-letter key, which is mostly an abbreviation ("wed" is Wednesday; "wedded" is not it + -ed).
    assert.ok(backoffOf('wed').includes('wednesday'));
    assert.ok(!backoffOf('wedded').includes('wednesday'), JSON.stringify(backoffOf('wedded')));
    assert.ok(backoffOf('puked').includes('vomiting'));
    assert.ok(backoffOf('gran').includes('grandparent'));
    assert.ok(backoffOf('grandad').includes('grandparent'));
    assert.ok(backoffOf('pay packet').includes('payslip'));
    assert.ok(backoffOf('cab').includes('taxi'));
    assert.ok(backoffOf('skint').includes('financial hardship'));
    assert.ok(backoffOf('creche').includes('childcare'));
    assert.ok(backoffOf('newbie').includes('new hire'));
    assert.ok(backoffOf('locked out').includes('account lockout'));
    assert.ok(backoffOf('passed on').includes('bereavement'));
    assert.deepEqual(backoffOf('zebra'), [], 'a word it does not know maps to nothing');
    assert.ok(isLexiconWord('queasy'));
  });

  it('leaves out keys a question can never hold as written (their filler is dropped from every question)', () => {
    const { keys, dropped } = lexiconStats();
    // Broad: thousands of keys; bounded: the data is a couple of hundred KB of text at most.
    assert.ok(keys >= 1500 && keys <= 12000, `${keys} keys`);
    assert.ok(dropped.includes('get paid'), '"get paid" would become "paid"');
    assert.deepEqual(backoffOf('paid'), [], 'so "paid" alone is not a key');
  });

  it('knows phrasal verbs with irregular pasts, clipped forms and regional words', () => {
    assert.ok(backoffOf('threw up').includes('vomiting'), 'an irregular past is a key of its own');
    assert.ok(backoffOf('throwing up').includes('vomiting'), 'a regular inflection of the first word finds the base');
    assert.ok(backoffOf('passed away').includes('bereavement'));
    assert.ok(backoffOf('rang in sick').includes('sick leave'));
    assert.ok(backoffOf('comp off').includes('time off in lieu'));
    assert.ok(backoffOf('toil').includes('time off in lieu'));
    assert.ok(backoffOf('flat tyre').includes('vehicle breakdown'));
    assert.ok(backoffOf('flat tire').includes('vehicle breakdown'));
    assert.ok(backoffOf('nappies').includes('baby changing facilities'));
    assert.ok(backoffOf('short staffed').includes('staffing'));
    assert.ok(backoffOf('whip round').includes('collection'));
    assert.deepEqual(backoffOf('thurs'), ['thursday']);
    assert.deepEqual(backoffOf('hrs'), ['hours'], 'hours, not human resources (the key "hr")');
  });

  it('keeps inflections of short keys from reading as another word', () => {
    // "rated" strips to "rat", "ties" to "tie", "thus" to "thu", "slurred" to "slur": none of those is a key.
    for (const w of ['rated', 'rating', 'ties', 'thus', 'slurred', 'molded', 'bogged']) assert.deepEqual(backoffOf(w), [], w);
    assert.ok(backoffOf('plastered').includes('intoxication'), '"plastered" is drunk, not a plaster');
    assert.ok(backoffOf('dressing').includes('first aid'), 'a wound dressing is first aid, not the dress code');
    assert.ok(backoffOf('fries').includes('food'), '"fries" is food, not Friday');
  });

  it('never maps a word to itself or to a word of its own phrase', () => {
    for (const w of ['granny', 'locked out', 'sick note', 'time off', 'minibus', 'comp off', 'threw up', 'short staffed', 'car broke down']) {
      const own = w.split(' ');
      for (const t of backoffOf(w)) assert.ok(t !== w && !own.includes(t), `${w} → ${t}`);
    }
  });

  it('finds its phrases in a question, longest first, and follows the lexicon with the curated thesaurus', () => {
    const spans = lexiconSpans(queryWords('my gran passed on and I kept puking twice'));
    assert.deepEqual(spans.map((s) => s.text), ['gran', 'passed on', 'puking']);
    const withSynonyms = backoffWithSynonyms('puking');
    assert.ok(withSynonyms.indexOf('vomiting') < withSynonyms.indexOf('unwell'), 'the lexicon first, then the thesaurus');
  });
});

// A small invented company: policies written in formal words, plus articles that share a question's other words.
const DOCS = [
  doc('hr/bereavement', 'Bereavement leave', '# Bereavement leave\n\nAfter the death of a grandparent, parent, sibling or child you may take 3 paid days of bereavement leave. Your manager approves the days.'),
  doc('hr/sick', 'Sick days', '# Sick days\n\nEvery employee gets 8 paid sick days per year. Sick days can be taken in half days.'),
  doc('health/gi', 'Gastrointestinal illness', '# Gastrointestinal illness\n\nAnyone with vomiting or diarrhoea must stay away from the kitchen until 48 hours after the last episode.'),
  doc('facilities/passes', 'Visitor passes', '# Visitor passes\n\nA day pass for a visitor is printed at reception. Passes expire at 18:00 on the day they are issued.'),
  doc('hr/volunteering', 'Volunteering days', '# Volunteering days\n\nYou may take 2 paid days a year to volunteer. A volunteer pass is issued by the People team for each of those days.'),
  doc('facilities/kitchen', 'Kitchen cleaning', '# Kitchen cleaning\n\nStay away from the kitchen for 2 hours after the floor is mopped, until it is dry.'),
  doc('it/lockout', 'Account lockout', '# Account lockout\n\nAfter five failed sign-in attempts your account lockout lasts 20 minutes. The Service Point can end a lockout sooner.'),
];

describe('back-off lexicon: retrieval and answers', () => {
  let assistant: string;
  before(async () => {
    assistant = uniq('asst');
    await applyIngest(await testDb(), { assistant, root: '/r', prune: false, people: [], documents: DOCS });
  });

  it('gives a word no visible passage uses the lexicon words the passages do use, marked as a back-off', async () => {
    const terms = await analyzeQuery(await testDb(), assistant, ['*'], 'how long after puking before I can work in the kitchen');
    const puking = terms.find((t) => t.text === 'puking');
    assert.ok(puking, JSON.stringify(terms));
    assert.equal(puking.backoff, true);
    assert.equal(puking.seen, true);
    assert.ok(puking.idf > 0);
    assert.ok(puking.alts.some((a) => a.join(' ') === 'vomit'), JSON.stringify(puking.alts));
    assert.ok(puking.alts.length <= MAX_BACKOFF_ALTS + 1);
    assert.ok(BACKOFF_WEIGHT > 0 && BACKOFF_WEIGHT <= 1);
  });

  it('reads an idiom the passages never use as the idiom, not as its words ("passed on" is not a "pass")', async () => {
    const terms = await analyzeQuery(await testDb(), assistant, ['*'], 'my gran passed on, how many paid days do I get');
    const idiom = terms.find((t) => t.text === 'passed on');
    assert.ok(idiom?.backoff, JSON.stringify(terms));
    assert.ok(idiom.alts.some((a) => a.join(' ') === 'bereav'));
    assert.ok(!terms.some((t) => t.text === 'passed'), 'the word "passed" alone is not searched for');
  });

  it('keeps a word an idiom\'s readings repeat ("sick" in "out sick"): it is still searched as itself', async () => {
    const terms = await analyzeQuery(await testDb(), assistant, ['*'], 'I was out sick on Tuesday, what do I do?');
    const idiom = terms.find((t) => t.text === 'out sick');
    assert.ok(idiom?.backoff, JSON.stringify(terms));
    assert.ok(terms.some((t) => t.text === 'sick' && !t.backoff), `"sick" is searched as written too: ${JSON.stringify(terms.map((t) => t.text))}`);
  });

  it('never expands a word the visible corpus already uses', async () => {
    const own = uniq('asst');
    await applyIngest(await testDb(), {
      assistant: own, root: '/r', prune: false, people: [],
      documents: [...DOCS, doc('facilities/cleaning', 'Cleaning', '# Cleaning\n\nPuke kits are in every first aid cupboard.')],
    });
    const terms = await analyzeQuery(await testDb(), own, ['*'], 'where is the puke kit');
    const puke = terms.find((t) => t.text === 'puke');
    assert.ok(puke && !puke.backoff, JSON.stringify(terms));
    assert.deepEqual(puke.alts, [['puke']], 'the asker’s own word only');
  });

  it('counts only passages the asker may see: a back-off word used only in a restricted article is no alternative', async () => {
    const own = uniq('asst');
    await applyIngest(await testDb(), {
      assistant: own, root: '/r', prune: false, people: [],
      documents: [
        doc('hr/sick', 'Sick days', '# Sick days\n\nEvery employee gets 8 paid sick days per year.'),
        { ...doc('health/outbreak', 'Outbreak log', '# Outbreak log\n\nVomiting cases on floor 2 this week: 4.'), access: ['group:nurses'] },
      ],
    });
    const outsider = await analyzeQuery(await testDb(), own, ['*'], 'puking');
    assert.ok(!outsider.some((t) => t.alts.some((a) => a.join(' ') === 'vomit')), JSON.stringify(outsider));
    const insider = await analyzeQuery(await testDb(), own, ['*', 'group:nurses'], 'puking');
    assert.ok(insider.some((t) => t.backoff && t.alts.some((a) => a.join(' ') === 'vomit')), JSON.stringify(insider));
  });

  it('answers an everyday-word question from the article written in formal words', async () => {
    // Without the lexicon, "pass" + "paid days" (volunteering) and "stay away from the kitchen" (cleaning) win.
    const m = await finalAnswer(assistant, 'my gran passed on last week, how many paid days do I get?');
    assert.equal(m.citations[0]?.url, 'https://kb.lexicon.test/hr/bereavement', m.text);
    assert.match(m.text, /3 paid days of bereavement leave/);
    const v = await finalAnswer(assistant, 'I keep puking, how long do I have to stay away from the kitchen?');
    assert.equal(v.citations[0]?.url, 'https://kb.lexicon.test/health/gi', v.text);
    assert.match(v.text, /48 hours/);
  });

  it('answers an idiom about an account from the article that names the formal thing', async () => {
    const m = await finalAnswer(assistant, 'I got locked out after too many tries, how long until I can get back in?');
    assert.equal(m.citations[0]?.url, 'https://kb.lexicon.test/it/lockout', m.text);
    assert.match(m.text, /20 minutes/);
  });

  it('answers an irregular phrasal verb and a regional family word from the formal article', async () => {
    // "threw" and "up" alone say nothing; "nan" and "passed away" must not read as a volunteer pass.
    const v = await finalAnswer(assistant, 'I threw up twice, how long do I have to stay away from the kitchen?');
    assert.equal(v.citations[0]?.url, 'https://kb.lexicon.test/health/gi', v.text);
    assert.match(v.text, /48 hours/);
    const m = await finalAnswer(assistant, 'my nan passed away on Sunday, how many paid days do I get?');
    assert.equal(m.citations[0]?.url, 'https://kb.lexicon.test/hr/bereavement', m.text);
    assert.match(m.text, /3 paid days of bereavement leave/);
  });

  it('answers a clipped regional word from the article that names the formal thing', async () => {
    const own = uniq('asst');
    await applyIngest(await testDb(), {
      assistant: own, root: '/r', prune: false, people: [],
      documents: [
        doc('hr/lieu', 'Time off in lieu', '# Time off in lieu\n\nTime off in lieu must be taken within 3 months of the hours worked, or it expires.'),
        doc('facilities/permits', 'Parking permits', '# Parking permits\n\nA parking permit expires 12 months after it is issued. Renew it at reception.'),
      ],
    });
    // Without the lexicon neither "toil" nor "comp off" is known and only "expire" is left, which both articles use.
    for (const q of ['when does my toil expire?', 'when does my comp off expire?']) {
      const m = await finalAnswer(own, q);
      assert.equal(m.citations[0]?.url, 'https://kb.lexicon.test/hr/lieu', `${q}: ${m.text}`);
      assert.match(m.text, /within 3 months/);
    }
  });

  it('still says it found nothing when the corpus really lacks the topic, in the lexicon’s words too', async () => {
    // "creche" and "toddler" map to childcare and child, which no article here mentions.
    const m = await finalAnswer(assistant, 'is there a creche for my toddler?');
    assert.deepEqual(m.citations, []);
    assert.match(m.text, /couldn't find/);
    const n = await finalAnswer(assistant, 'can I park my narrowboat at the office?');
    assert.deepEqual(n.citations, []);
  });
});

describe('back-off lexicon: sentence choice', () => {
  it('bridges a question word no candidate sentence holds into the sentence that says the lexicon’s word', () => {
    const units = unitsOf('Anyone with vomiting must stay home for 48 hours. The kitchen closes at 15:00.');
    bridgeUnits('I puked, when can I come in?', units);
    const puke = contentStems('puked')[0]!;
    assert.ok(units[0]!.stems.has(puke) && units[0]!.bridged?.has(puke), 'the vomiting sentence holds the question word');
    assert.ok(!units[1]!.stems.has(puke));
  });

  it('does not bridge a word some candidate sentence already holds', () => {
    const units = unitsOf('Puke kits are under the sink. Anyone with vomiting must stay home.');
    bridgeUnits('where is the puke kit?', units);
    assert.equal(units[1]!.bridged, undefined, 'the asker’s own word is in a sentence: no back-off');
  });

  it('matches a phrase word after word and gives no credit for half of a backed-off idiom', () => {
    const units = unitsOf('A day pass is printed at reception. After a death in the family you may take 3 days of bereavement leave.');
    bridgeUnits('my gran passed on, what now?', units);
    const pass = contentStems('passed')[0]!;
    assert.ok(units[1]!.bridged?.has(pass), 'the bereavement sentence says what "passed on" means');
    assert.ok(units[0]!.misread?.has(pass), '"a day pass" is another sense of the word');
  });
});
