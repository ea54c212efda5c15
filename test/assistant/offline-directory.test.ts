// The directory as data: people asked for by role, title abbreviation, department, site and reporting line, on an
// invented hotel group (test/assistant/fixtures/hotel) whose titles and sites the engine has never been told about.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { parseSources } from '../../src/knowledge/parse.ts';
import type { Db } from '../../src/store/db.ts';
import { citationProblems, fixtureAssistant, type Turn } from './support.ts';

const HOTEL = fileURLToPath(new URL('./fixtures/hotel/', import.meta.url));
const DIR = 'https://directory.acme.example/people/';

async function ingestHotel(db: Db, assistant: string) {
  const docs = await parseSources(HOTEL + 'kb');
  const people = await parseSources(HOTEL + 'people.csv');
  return applyIngest(db, { assistant, root: docs.root, prune: false, documents: docs.documents, people: people.people });
}

const cited = (t: Turn) => t.final.citations.map((c) => c.url);

describe('offline engine: the directory as data', () => {
  let f: Awaited<ReturnType<typeof fixtureAssistant>>;
  before(async () => {
    f = await fixtureAssistant(ingestHotel);
  });

  it('finds a role by its abbreviation or its words, citing the entry', async () => {
    for (const q of ['Who is our CFO?', "who's the chief financial officer", 'who handles finance as chief officer?']) {
      const t = await f.ask(q);
      assert.match(t.final.text, /Bram Kettering/, q);
      assert.equal(cited(t)[0], DIR + 'h02', q);
      assert.deepEqual(citationProblems(t.final), [], q);
    }
  });

  it('answers a field of a role holder ("email for the payroll specialist")', async () => {
    const t = await f.ask('email for the payroll specialist');
    assert.match(t.final.text, /tobias\.wren@tidewell\.test/);
    assert.equal(cited(t)[0], DIR + 'h06');
    const phone = await f.ask('phone number for the IT manager?');
    assert.match(phone.final.text, /Hugo Brandt[\s\S]*\+1-555-0114/);
  });

  it('sends "how do I reach <full name>" to the directory with email and phone', async () => {
    for (const q of ['How can I get in touch with Greta Holm?', 'how do I reach Greta Holm']) {
      const t = await f.ask(q);
      assert.match(t.final.text, /greta\.holm@tidewell\.test/, q);
      assert.match(t.final.text, /\+1-555-0108/, q);
      assert.equal(cited(t)[0], DIR + 'h09', q);
    }
  });

  it('reads the reporting line of a role: a title\'s manager and its direct reports', async () => {
    const up = await f.ask('Who does the CFO report to?');
    assert.match(up.final.text, /Bram Kettering\*\* reports to \*\*Orla Venn\*\*/);
    const down = await f.ask("List the CEO's direct reports");
    for (const name of ['Bram Kettering', 'Petra Lindqvist', 'Soren Adebayo', 'Imogen Castellanos', 'Ivo Lindgren']) assert.ok(down.final.text.includes(name), name);
    assert.match(down.final.text, /Orla Venn\*\* has 5 direct reports/);
    assert.deepEqual(citationProblems(down.final), []);
  });

  it('reads a title in capitals as the abbreviation, not the start of a surname (COO is not Cooke)', async () => {
    const t = await f.ask('who does the COO report to?');
    assert.match(t.final.text, /Ivo Lindgren\*\* reports to \*\*Orla Venn\*\*/);
  });

  it('narrows someone\'s reports by the title asked for', async () => {
    const t = await f.ask('Which housekeeping supervisors report to Felix Marchetti?');
    assert.match(t.final.text, /Ruben Achterberg/);
    for (const other of ['Marisol Teague', 'Priya Haldane']) assert.ok(!t.final.text.includes(other), other);
  });

  it('picks the leader by seniority, narrowed to a site when one is named', async () => {
    const site = await f.ask('Who runs housekeeping at Riverside?');
    assert.match(site.final.text, /Ruben Achterberg/);
    assert.doesNotMatch(site.final.text, /Lena Osei/);
    const hotel = await f.ask('Who manages the Old Town Hotel?');
    assert.match(hotel.final.text, /^\*\*Greta Holm\*\*/);
    const hr = await f.ask('who is in charge of HR?');
    assert.match(hr.final.text, /^\*\*Imogen Castellanos\*\*/);
  });

  it('lists several people who fit equally, never guessing one', async () => {
    const t = await f.ask("Who's in charge of housekeeping?");
    assert.match(t.final.text, /Lena Osei/);
    assert.match(t.final.text, /Ruben Achterberg/);
    assert.deepEqual(citationProblems(t.final), []);
    const priya = await f.ask("What is Priya's phone number?");
    assert.match(priya.final.text, /Which one do you mean\?/);
    assert.match(priya.final.text, /Priya Haldane/);
    assert.match(priya.final.text, /Priya Okoro/);
  });

  it('matches task words and shift words to titles ("overnight" → Nights)', async () => {
    const t = await f.ask('who covers security overnight at Riverside?');
    assert.match(t.final.text, /^\*\*Marisol Teague\*\*/);
  });

  it('answers where a named person works, whatever the word for the place', async () => {
    const t = await f.ask('Which hotel is Wendell Oyama at?');
    assert.match(t.final.text, /Old Town Hotel/);
    assert.equal(cited(t)[0], DIR + 'h18');
  });

  it('reads a lone surname as a person only when the question is about one', async () => {
    const product = await f.ask('How do I open Beacon?');
    assert.ok(!cited(product).some((u) => u.startsWith(DIR)), cited(product).join(', '));
    const dr = await f.ask('Which hotel is Dr. Oyama at?');
    assert.match(dr.final.text, /Wendell Oyama[\s\S]*Old Town Hotel/);
  });

  it('excludes the person named after "other than"', async () => {
    const t = await f.ask('I need someone in finance other than Bram Kettering');
    assert.doesNotMatch(t.final.text, /Bram Kettering/);
    assert.match(t.final.text, /Tobias Wren/);
  });

  it('does not take a product name for a person, even when a word of it is a surname', async () => {
    const t = await f.ask("What's the phone number for Beacon Desk?");
    assert.equal(cited(t)[0], 'https://kb.tidewell.test/it/beacon-desk');
    assert.match(t.final.text, /\+1-555-0199/);
    assert.doesNotMatch(t.final.text, /Nora Beacon/);
  });

  it('leaves questions about the asker\'s own manager and chatty knowledge questions to the knowledge base', async () => {
    for (const q of ['If a guest leaves towels on the floor at night, do I have to tell my manager?', 'my new room attendant is asking where to park']) {
      const t = await f.ask(q);
      assert.ok(!cited(t).some((u) => u.startsWith(DIR)), `${q}: ${cited(t).join(', ')}`);
    }
  });

  it('finds who handles a task from everyday words for it', async () => {
    const t = await f.ask('who do I ask about my paycheck?');
    assert.match(t.final.text, /^\*\*Tobias Wren\*\* \(Payroll Specialist\)/);
  });
});

// A second invented directory (a group of veterinary clinics), for people asked for by role inside a longer message,
// by an abbreviation the engine was never told (the directory's own titles spell it), by a relation word, or by
// what someone is responsible for.
const VETS = fileURLToPath(new URL('./fixtures/vets/', import.meta.url));
const VET_DIR = 'https://directory.acme.example/people/';

async function ingestVets(db: Db, assistant: string) {
  const docs = await parseSources(VETS + 'kb');
  const people = await parseSources(VETS + 'people.csv');
  return applyIngest(db, { assistant, root: docs.root, prune: false, documents: docs.documents, people: people.people });
}

describe('offline engine: roles, relations and responsibilities', () => {
  let f: Awaited<ReturnType<typeof fixtureAssistant>>;
  before(async () => {
    f = await fixtureAssistant(ingestVets);
  });

  it('looks a role up in the clause that asks for it, not only at the start of the message', async () => {
    const after = await f.ask('The x-ray printer has jammed twice this morning, so who is the imaging technician here?');
    assert.match(after.final.text, /^\*\*Noor Haddad\*\*/);
    assert.equal(cited(after)[0], VET_DIR + 'v13');
    const before = await f.ask('Who is the payroll officer? I think my last payslip is short.');
    assert.match(before.final.text, /^\*\*Anselm Grey\*\*/);
    assert.deepEqual(citationProblems(before.final), []);
  });

  it('still sends a story ending in "who do I tell?" to the knowledge base', async () => {
    const t = await f.ask('I broke some clinic equipment this morning, who do I tell?');
    assert.equal(cited(t)[0], 'https://kb.fernleigh.test/clinics/equipment-faults');
  });

  it('reads an abbreviation the directory\'s titles spell, singular or plural', async () => {
    const all = await f.ask('who are the RVNs?');
    for (const name of ['Tobias Renfrew', 'Carys Pendle']) assert.ok(all.final.text.includes(name), name);
    assert.ok(cited(all).length > 0 && cited(all).every((u) => u.startsWith(VET_DIR)), cited(all).join(', '));
    const one = await f.ask("who's the RVN at Hollins Cross?");
    assert.match(one.final.text, /^\*\*Carys Pendle\*\*/);
  });

  it('answers the common manager of everyone holding a title, or each one\'s manager', async () => {
    const same = await f.ask('Who do all the PMs report to?');
    assert.match(same.final.text, /Rowan Attwater/);
    assert.match(same.final.text, /Marek Sobczak/);
    assert.match(same.final.text, /Ingrid Falkner/);
    assert.doesNotMatch(same.final.text, /Which one do you mean/);
    assert.deepEqual(citationProblems(same.final), []);
    const each = await f.ask('who do the RVNs report to?');
    assert.match(each.final.text, /Tobias Renfrew\*\* reports to \*\*Marek Sobczak/);
    assert.match(each.final.text, /Carys Pendle\*\* reports to \*\*Ingrid Falkner/);
  });

  it('reads team leader, team lead, line manager and supervisor of a named person as their manager', async () => {
    const leader = await f.ask("Who is Lila Marchbank's team leader?");
    assert.match(leader.final.text, /Lila Marchbank\*\* reports to \*\*Ossian Blackwood\*\*/);
    assert.deepEqual(cited(leader), [VET_DIR + 'v09', VET_DIR + 'v08']);
    assert.match((await f.ask("who's lila's team lead")).final.text, /reports to \*\*Ossian Blackwood\*\*/);
    assert.match((await f.ask("who is Noor Haddad's line manager")).final.text, /reports to \*\*Marek Sobczak\*\*/);
    assert.match((await f.ask("Who is Tobias Renfrew's supervisor?")).final.text, /reports to \*\*Marek Sobczak\*\*/);
    // A team is still the team.
    assert.match((await f.ask("Who is on Ossian Blackwood's team?")).final.text, /Lila Marchbank/);
  });

  it('reads the role from the whole message when the asking clause only points back ("who is that?")', async () => {
    assert.match((await f.ask('I need to get hold of the imaging technician at Ashgrove, who is that?')).final.text, /^\*\*Noor Haddad\*\*/);
  });

  it('finds who handles, deals with, takes care of or is responsible for a task or department', async () => {
    assert.match((await f.ask('who deals with recruitment?')).final.text, /^\*\*Femi Adeyinka\*\*/);
    assert.match((await f.ask('Who takes care of facilities?')).final.text, /Jasper Vane/);
    assert.match((await f.ask('who handles imaging at Ashgrove?')).final.text, /^\*\*Noor Haddad\*\*/);
    assert.match((await f.ask('who is responsible for payroll')).final.text, /^\*\*Anselm Grey\*\*/);
    // "Over" leads right after "who is", and only there (see the story below).
    assert.match((await f.ask("who's over client care at Ashgrove?")).final.text, /^\*\*Ossian Blackwood\*\*/);
  });

  it('leaves policy questions about approvals and stories that mention a department to the knowledge base', async () => {
    for (const q of [
      'Who has to approve a shift swap?',
      "my parents are coming over next month. someone said nursing can't swap shifts over bank holidays, is that true?",
    ]) {
      const t = await f.ask(q);
      assert.equal(cited(t)[0], 'https://kb.fernleigh.test/clinics/shift-swaps', q);
    }
  });
});
