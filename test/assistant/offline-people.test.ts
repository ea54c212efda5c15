import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { citationProblems, fixtureAssistant, type Turn } from './support.ts';

type Fixture = Awaited<ReturnType<typeof fixtureAssistant>>;
const DIR = 'https://directory.acme.example/people/';

function attr(turn: Turn, i: number, key: string): string | undefined {
  return turn.final.citations[i]?.attributes.find((a) => a.key === key)?.value;
}

describe('offline engine: people', () => {
  let f: Fixture;
  before(async () => {
    f = await fixtureAssistant();
  });

  it('answers who someone reports to, citing their directory entry first', async () => {
    const t = await f.ask('Who does Ada Lovelace report to?');
    assert.match(t.final.text, /Ada Lovelace\*\* reports to \*\*José Álvarez\*\*, VP of Engineering\./);
    assert.equal(t.final.citations[0]?.url, DIR + 'p3');
    assert.equal(attr(t, 0, 'MANAGER'), 'José Álvarez');
    assert.equal(attr(t, 0, 'EMAIL'), 'ada.lovelace@example.test');
    assert.equal(attr(t, 0, 'DEPARTMENT'), 'Engineering');
    assert.equal(attr(t, 0, 'TITLE'), 'Principal Engineer');
    assert.deepEqual(citationProblems(t.final), []);
    assert.deepEqual(t.reasoning, ['Looking up Ada Lovelace in the directory']);
    assert.equal(t.events[0]?.type, 'reasoning', 'reasoning comes first');
  });

  it("answers manager questions phrased as boss / X's manager", async () => {
    assert.match((await f.ask("who is alan turing's boss")).final.text, /reports to \*\*José Álvarez\*\*/);
    assert.match((await f.ask("Who is Linus Berg's manager?")).final.text, /reports to \*\*Alan Kay\*\*/);
    assert.match((await f.ask('Who does Grace Hopper report to?')).final.text, /no manager listed/);
  });

  it('lists direct reports, each cited', async () => {
    const t = await f.ask('Who reports to José Álvarez?');
    assert.match(t.final.text, /has 2 direct reports:\n\n- \*\*Ada Lovelace\*\*, Principal Engineer\n- \*\*Alan Turing\*\*, Staff Engineer$/);
    assert.deepEqual(t.final.citations.map((c) => c.url), [DIR + 'p2', DIR + 'p3', DIR + 'p4']);
    assert.deepEqual(citationProblems(t.final), []);
    const team = await f.ask("Who is on Grace Hopper's team?");
    for (const name of ['José Álvarez', 'Alan Kay', 'Zoë Brennan']) assert.ok(team.final.text.includes(name), name);
    assert.match((await f.ask('Who reports to Ada Lovelace?')).final.text, /has no direct reports/);
  });

  it('answers email, phone, title, department and location questions', async () => {
    assert.match((await f.ask("What is Zoe Brennan's email?")).final.text, /zoe\.brennan@example\.test/);
    assert.match((await f.ask("What's Linus Berg's phone number?")).final.text, /\+46-8-555-0106/);
    assert.match((await f.ask('What does Ada Lovelace do?')).final.text, /Principal Engineer/);
    assert.match((await f.ask('Which department is Linus Berg in?')).final.text, /in the Sales department/);
    assert.match((await f.ask('Where is Alan Turing based?')).final.text, /based in London/);
    const both = await f.ask("What are Ada Lovelace's email and phone?");
    assert.match(both.final.text, /ada\.lovelace@example\.test[\s\S]*\+44-20-555-0102/);
  });

  it('describes a person, and finds people by role or by department', async () => {
    const who = await f.ask('Who is Grace Hopper?');
    assert.match(who.final.text, /Grace Hopper\*\* \(Chief Executive Officer\) works in Executive and is based in New York\./);
    assert.match((await f.ask('Who leads Engineering?')).final.text, /José Álvarez\*\* leads Engineering as VP of Engineering/);
    assert.match((await f.ask('Who is the head of sales?')).final.text, /Alan Kay\*\* leads Sales/);
    assert.match((await f.ask('Who is the CEO?')).final.text, /Grace Hopper/);
  });

  it('tolerates typos, missing accents and partial names', async () => {
    assert.match((await f.ask('Who does Ada Lovelase report to?')).final.text, /reports to \*\*José Álvarez\*\*/);
    assert.match((await f.ask('who does jose alvarez report to')).final.text, /reports to \*\*Grace Hopper\*\*/);
    assert.match((await f.ask("What is Lovelace's email?")).final.text, /ada\.lovelace@example\.test/);
    assert.match((await f.ask("Where is Turnig based?")).final.text, /Alan Turing\*\* is based in London/);
  });

  it('asks which one when a name is ambiguous, listing name, title and department', async () => {
    const t = await f.ask("What is Alan's email?");
    assert.match(t.final.text, /Which one do you mean\?/);
    assert.match(t.final.text, /- \*\*Alan Kay\*\*, Sales Director, Sales/);
    assert.match(t.final.text, /- \*\*Alan Turing\*\*, Staff Engineer, Engineering/);
    assert.doesNotMatch(t.final.text, /@/, 'no answer is guessed');
    assert.deepEqual(citationProblems(t.final), []);
    // The user picks one; the original question is answered for that person.
    const pick = await f.ask('the one in Sales', { history: f.exchange("What is Alan's email?", t) });
    assert.match(pick.final.text, /alan\.kay@example\.test/);
  });

  it('resolves follow-ups about the person of the previous answer', async () => {
    const q1 = 'Who does Ada Lovelace report to?';
    const t1 = await f.ask(q1);
    const email = await f.ask("what's her email?", { history: f.exchange(q1, t1) });
    assert.match(email.final.text, /ada\.lovelace@example\.test/);
    const q2 = 'Who is Alan Turing?';
    const t2 = await f.ask(q2);
    const mgr = await f.ask('who is his manager?', { history: f.exchange(q2, t2) });
    assert.match(mgr.final.text, /Alan Turing\*\* reports to \*\*José Álvarez\*\*/);
    const q3 = 'Where is Alan Turing based?';
    const t3 = await f.ask(q3);
    const other = await f.ask('what about Linus Berg?', { history: f.exchange(q3, t3) });
    assert.match(other.final.text, /Linus Berg\*\* is based in Stockholm/);
  });

  it('says so when a named person is not in the directory, citing nothing', async () => {
    const t = await f.ask("What is Bartholomew Quince's phone number?");
    assert.match(t.final.text, /couldn't find anyone named “Bartholomew Quince”/);
    assert.deepEqual(t.final.citations, []);
  });

  it('does not take a word capitalised by its place, or an acronym, for a missing person', async () => {
    // "Visitor" opens the sentence; "him" and "the manager" make it read as a reporting question about someone.
    const a = await f.ask('Visitor at the front desk says he lost his pass. Can I lend him mine without asking the manager?');
    assert.doesNotMatch(a.final.text, /couldn't find anyone named/);
    const b = await f.ask('My supervisor wants to refer me to OH after my back injury. Who is OH and who do they report to?');
    assert.doesNotMatch(b.final.text, /couldn't find anyone named/);
    // A name inside the sentence still gets the plain answer.
    const c = await f.ask('Who does Bartholomew Quince report to?');
    assert.match(c.final.text, /couldn't find anyone named “Bartholomew Quince”/);
  });

  it('does not mistake ordinary words for names in questions about the asker', async () => {
    const t = await f.ask('Where is the lab?');
    assert.equal(t.final.citations[0]?.url, 'https://kb.example.test/it/lab');
    assert.match(t.final.text, /4th floor/);
  });

  it('handles small talk without searching or citing', async () => {
    for (const q of ['hi', 'Thanks!', 'what can you do?']) {
      const t = await f.ask(q);
      assert.deepEqual(t.final.citations, [], q);
      assert.deepEqual(t.reasoning, [], q);
    }
    assert.match((await f.ask('hello')).final.text, /directory/);
    assert.match((await f.ask('what can you do?')).final.text, /\*\*People\*\*/);
  });
});
