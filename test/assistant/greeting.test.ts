import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { withoutGreeting } from '../../src/assistant/offline/router.ts';
import { fixtureAssistant } from './support.ts';

type Fixture = Awaited<ReturnType<typeof fixtureAssistant>>;

describe('offline engine: a greeting in front of a question', () => {
  let f: Fixture;
  before(async () => {
    f = await fixtureAssistant();
  });

  it('strips only a leading greeting or courtesy', () => {
    assert.equal(withoutGreeting('Hi, what can you do?'), 'what can you do?');
    assert.equal(withoutGreeting('hey there - who does Ada Lovelace report to?'), 'who does Ada Lovelace report to?');
    assert.equal(withoutGreeting('Hello! Please, how do I reset my VPN password?'), 'how do I reset my VPN password?');
    assert.equal(withoutGreeting('hi'), 'hi', 'a bare greeting stays small talk');
    assert.equal(withoutGreeting('Hilda Baker'), 'Hilda Baker', 'names that start like a greeting are kept');
  });

  it('answers "hi, what can you do?" as help, and "hi, who does X report to?" as a people question', async () => {
    const help = await f.ask('hi, what can you do?');
    assert.match(help.final.text, /People/);
    assert.equal(help.final.citations.length, 0);
    assert.deepEqual(help.reasoning, [], 'no search for small talk');
    const people = await f.ask('Hello, who does Ada Lovelace report to?');
    assert.match(people.final.text, /reports to \*\*José Álvarez\*\*/);
  });
});
