import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError, type Engine, type EngineEvent, type EngineRequest } from '../../src/assistant/engine.ts';

/**
 * A test engine driven by the input text, so one server can exercise every path:
 * - `fail`: throws an EngineError;            - `crash`: throws a plain Error (must not leak);
 * - `hang`: waits until aborted (timeouts);   - `slow:<ms>`: pauses <ms> between events;
 * - `nothing`: yields no message;             - `messy`: repeated, unreferenced and unknown citations;
 * - anything else: a cited answer in three snapshots.
 * It records every request it saw.
 */
export class ScriptedEngine implements Engine {
  readonly name = 'scripted';
  readonly seen: EngineRequest[] = [];

  async *answer(req: EngineRequest): AsyncIterable<EngineEvent> {
    this.seen.push(req);
    const input = req.input.trim();
    if (input === 'fail') throw new EngineError('PROVIDER_ERROR', 'The language model provider returned an error.');
    if (input === 'crash') throw new Error('secret internal detail /etc/passwd SELECT * FROM users');
    if (input === 'hang') {
      // An abort that came before this point (a cancel that beat the claim) fires no event: check first.
      req.signal.throwIfAborted();
      await new Promise((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason), { once: true }));
      return;
    }
    if (input === 'nothing') {
      yield { type: 'reasoning', text: 'Thinking about nothing' };
      return;
    }
    if (input === 'messy') {
      const c = (key: string) => ({ key, url: `https://intranet.example/kb/${key}`, title: key, body: 'passage', attributes: [] });
      // The same source twice, a source never referenced, a reference to no source, references out of order.
      yield {
        type: 'message',
        text: 'One. Two.',
        citations: [c('a'), c('b'), c('a'), c('unused')],
        references: [
          { key: 'b', offset: 9 },
          { key: 'a', offset: 4 },
          { key: 'ghost', offset: 9 },
          { key: 'a', offset: 9 },
        ],
      };
      return;
    }
    const pause = /^slow:(\d+)/.exec(input)?.[1];
    const wait = async () => {
      if (pause) await sleep(Number(pause), undefined, { signal: req.signal });
    };
    yield { type: 'reasoning', text: `Searching the knowledge base for ${input}` };
    await wait();
    const s1 = 'Résumé 🙂 first sentence.';
    const s2 = ' 日本語 second sentence.';
    const cite = {
      key: 'doc-1',
      url: 'https://intranet.example/kb/doc-1',
      title: 'Doc one',
      body: 'The passage relied on.',
      attributes: [{ key: 'SOURCE', value: 'kb' }],
    };
    const cite2 = { ...cite, key: 'doc-2', url: 'https://intranet.example/kb/doc-2', title: 'Doc two' };
    const cp = (s: string) => Array.from(s).length;
    yield { type: 'message', text: s1, citations: [cite], references: [{ key: 'doc-1', offset: cp(s1) }] };
    await wait();
    yield {
      type: 'message',
      text: s1 + s2,
      citations: [cite, cite2],
      references: [
        { key: 'doc-1', offset: cp(s1) },
        { key: 'doc-2', offset: cp(s1 + s2) },
      ],
    };
    await wait();
    const s3 = ` You asked: ${input}`;
    yield {
      type: 'message',
      text: s1 + s2 + s3,
      citations: [cite, cite2],
      references: [
        { key: 'doc-1', offset: cp(s1) },
        { key: 'doc-2', offset: cp(s1 + s2) },
      ],
    };
  }
}
