/** Times of day in questions and passages (src/assistant/offline/clock.ts). Invented content only. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clockFit, minutesOf, overlap, questionTimes, statedSpans, timeFit } from '../../src/assistant/offline/clock.ts';

describe('offline engine: times of day', () => {
  it('reads clock readings in both notations and refuses what is not one', () => {
    assert.equal(minutesOf('1am'), 60);
    assert.equal(minutesOf('12 am'), 0);
    assert.equal(minutesOf('12pm'), 12 * 60);
    assert.equal(minutesOf('7:45 p.m.'), 19 * 60 + 45);
    assert.equal(minutesOf('23:30'), 23 * 60 + 30);
    assert.equal(minutesOf('midnight'), 0);
    assert.equal(minutesOf('noon'), 12 * 60);
    for (const bad of ['25:00', '13pm', '0am', '7:75', 'soon']) assert.equal(minutesOf(bad), null, bad);
  });

  it('takes a question’s clock times as points, else the parts of the day it names', () => {
    assert.deepEqual(questionTimes('I finish at 2am, is the canteen open?'), [{ start: 120, end: 121 }]);
    assert.deepEqual(questionTimes('is the canteen open overnight?'), [{ start: 23 * 60, end: 6 * 60 }]);
    assert.deepEqual(questionTimes('what does the 3 day course cost?'), []);
    // A version number or a price is not a time.
    assert.deepEqual(questionTimes('does version 2.10 support it for $5.30?'), []);
    // Counted nights are days, not the time of day ("3 night shifts" still names the night).
    assert.deepEqual(questionTimes('I was off with a cold for 3 nights, does that need a note?'), []);
    assert.deepEqual(questionTimes('we worked two evenings in a row, is there a meal allowance?'), []);
    assert.deepEqual(questionTimes('I have 3 night shifts next week, where do I park?'), [{ start: 23 * 60, end: 6 * 60 }]);
    assert.deepEqual(statedSpans('Trainees stay four nights at the hotel.'), []);
  });

  it('reads ranges a passage states, including ones past midnight', () => {
    assert.deepEqual(statedSpans('| 00:45 to 04:20 | by booking |'), [{ start: 45, end: 4 * 60 + 20 }]);
    assert.deepEqual(statedSpans('Open 9am-5pm on weekdays.'), [{ start: 9 * 60, end: 17 * 60 }]);
    assert.deepEqual(statedSpans('From 22:00 until 06:00 the gate is locked.'), [{ start: 22 * 60, end: 6 * 60 }]);
    assert.equal(overlap({ start: 23 * 60, end: 6 * 60 }, { start: 22 * 60, end: 7 * 60 }), 7 * 60);
    assert.deepEqual(statedSpans('Deliveries arrive between 06:30 and 09:00 on weekdays.'), [{ start: 6 * 60 + 30, end: 9 * 60 }]);
    // Hours on the clock say more than a word for a part of the day in the same sentence.
    assert.deepEqual(statedSpans('Staff starting between 18:00 and 21:00 use the evening entrance.'), [{ start: 18 * 60, end: 21 * 60 }]);
    assert.deepEqual(statedSpans('Night staff use the side entrance.'), [{ start: 23 * 60, end: 6 * 60 }]);
    const asked = questionTimes('I get in at 2am, which door?');
    assert.equal(clockFit(asked, '| 00:30 to 05:00 | side door |'), true);
    assert.equal(clockFit(asked, 'Night staff use the side entrance.'), false);
    assert.equal(timeFit(asked, 'Night staff use the side entrance.'), 1);
  });

  it('fits a sentence whose hours hold the asked time, and counts hours that miss it against it', () => {
    const asked = questionTimes('my train gets in at 1:30 am, can someone let me in?');
    assert.equal(timeFit(asked, 'The front desk is staffed 07:00 to 19:00.'), -1);
    assert.equal(timeFit(asked, 'Outside those hours, and at night, ring the night porter.'), 1);
    assert.equal(timeFit(asked, 'Ring the porter.'), 0);
    assert.equal(timeFit(questionTimes('any cover on evenings?'), '| Late | 15:00 to 23:00 | two staff |'), 1);
  });
});
