import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after as afterAll, afterEach, describe, it } from 'node:test';
import { EngineError, type EngineEvent, type EngineRequest, type HistoryMessage } from '../../src/assistant/engine.ts';
import { createLlmEngine, type LlmEngineOptions } from '../../src/assistant/llm/llm-engine.ts';
import { startFakeOpenAI, type FakeOpenAI, type ScriptedTurn, type WireMessage } from './fake-openai.ts';
import { StubKnowledge } from './stub-knowledge.ts';

const knowledge = new StubKnowledge(
  [
    {
      id: 'pw',
      url: 'https://wiki.example.com/it/password-reset',
      title: 'Password reset',
      heading: 'Reset steps',
      text: 'To reset your password open Settings, then Security, then Reset password.',
      updatedAt: '2025-02-01T09:00:00Z',
      access: ['*'],
    },
    {
      id: 'layoffs',
      url: 'https://wiki.example.com/hr/restructuring-plan',
      title: 'Restructuring plan (confidential)',
      text: 'Confidential password reset for executives: the restructuring plan affects 40 roles.',
      access: ['group:hr-leads'],
    },
  ],
  [
    { id: 'p0', name: 'Ada Park', email: 'ada@example.com', title: 'CIO', department: 'IT', managerId: null },
    { id: 'p1', name: 'Mei Chen', email: 'mei@example.com', title: 'IT Manager', department: 'IT', managerId: 'p0' },
    { id: 'p2', name: 'Tom Diaz', email: 'tom@example.com', title: 'Technician', department: 'IT', managerId: 'p1' },
    {
      id: 'p3',
      name: 'Hana Ito',
      email: 'hana@example.com',
      title: 'HR Lead',
      department: 'HR',
      managerId: null,
      groups: ['hr-leads'],
    },
  ],
);

const fakes: FakeOpenAI[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fake(turns: ScriptedTurn[]): Promise<FakeOpenAI> {
  const f = await startFakeOpenAI(turns);
  fakes.push(f);
  return f;
}

function engineFor(f: { baseUrl: string }, extra: Partial<LlmEngineOptions> = {}) {
  return createLlmEngine({
    baseUrl: f.baseUrl,
    model: 'fake-model',
    apiKey: 'sk-test',
    knowledge,
    timeoutMs: 500,
    now: () => new Date('2025-06-01T12:00:00Z'),
    ...extra,
  });
}

function request(over: Partial<EngineRequest> = {}): EngineRequest {
  return {
    user: { id: 'u-tom', email: 'tom@example.com', emailVerified: true, name: 'Tom Diaz', groups: [] },
    assistant: 'helpdesk',
    conversationId: 'conv_x',
    responseId: 'resp_x',
    history: [],
    input: 'How do I reset my password, and who is Mei Chen?',
    signal: new AbortController().signal,
    ...over,
  };
}

async function collect(events: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

function messages(events: EngineEvent[]) {
  return events.flatMap((e) => (e.type === 'message' ? [e] : []));
}

function toolMessages(msgs: WireMessage[]): string[] {
  return msgs.filter((m) => m.role === 'tool').map((m) => String(m.content));
}

/** Code-point offset just after the first occurrence of `needle`. */
function after(text: string, needle: string): number {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} not found in ${text}`);
  return Array.from(text.slice(0, at + needle.length)).length;
}

/** Runs `p`, expecting an EngineError with `code`, and returns it with the elapsed time. */
async function expectEngineError(p: Promise<unknown>, code: EngineError['code']): Promise<{ err: EngineError; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (err) {
    const ms = Date.now() - t0;
    assert.ok(err instanceof EngineError, `expected EngineError, got ${String(err)}`);
    assert.equal(err.code, code, `code: ${err.message}`);
    return { err, ms };
  }
  assert.fail(`expected EngineError ${code}`);
}

const twoToolCalls: ScriptedTurn = {
  type: 'tool_calls',
  calls: [
    { name: 'search_knowledge', arguments: '{"query": "password reset"}', pieces: 4 },
    { name: 'lookup_person', arguments: '{"name":"Mei Chen"}', pieces: 2 },
  ],
};

describe('LLM engine', () => {
  it('answers in two steps with tool calls, citations in code points and growing snapshots', async () => {
    const f = await fake([
      twoToolCalls,
      {
        type: 'text',
        delayMs: 15,
        chunks: [
          'To reset your password 🔑, open Settings',
          ' and choose Reset [',
          '1]. ',
          'Mei Chen (陈美) is the IT Manager',
          ' and reports to Ada Park.[2][',
          '3] She also runs the moon base [9]. ',
          '更多信息请看设置。[1, 2]',
        ],
      },
    ]);
    // Not a timeout test: the default 0.5 s budget is too tight for two model rounds on a loaded machine.
    const events = await collect(engineFor(f, { timeoutMs: 10_000 }).answer(request()));

    const reasoning = events.flatMap((e) => (e.type === 'reasoning' ? [e.text] : []));
    assert.deepEqual(reasoning, [
      'Searching the knowledge base for “password reset”',
      'Looking up Mei Chen in the directory',
    ]);
    assert.equal(events[0]?.type, 'reasoning', 'reasoning comes before the answer');

    const snaps = messages(events);
    assert.ok(snaps.length >= 3, `expected several snapshots, got ${snaps.length}`);
    for (const [i, s] of snaps.entries()) {
      assert.doesNotMatch(s.text, /\[\s*\d/, `snapshot ${i} shows a marker: ${s.text}`);
      const next = snaps[i + 1];
      if (next) assert.ok(next.text.startsWith(s.text), `snapshot ${i + 1} does not extend snapshot ${i}`);
    }

    const final = snaps.at(-1);
    assert.ok(final);
    const text =
      'To reset your password 🔑, open Settings and choose Reset. Mei Chen (陈美) is the IT Manager and reports to ' +
      'Ada Park. She also runs the moon base. 更多信息请看设置。';
    assert.equal(final.text, text);
    assert.deepEqual(final.references, [
      { key: 'doc:pw', offset: after(text, 'choose Reset.') },
      { key: 'person:p1', offset: after(text, 'Ada Park.') },
      { key: 'person:p0', offset: after(text, 'Ada Park.') },
      { key: 'doc:pw', offset: after(text, '设置。') },
      { key: 'person:p1', offset: after(text, '设置。') },
    ]);
    // [9] matched no source: dropped, nothing invented.
    assert.deepEqual(
      final.citations.map((c) => c.key),
      ['doc:pw', 'person:p1', 'person:p0'],
    );
    const [doc, mei] = final.citations;
    assert.deepEqual(doc, {
      key: 'doc:pw',
      url: 'https://wiki.example.com/it/password-reset',
      title: 'Password reset',
      body: 'To reset your password open Settings, then Security, then Reset password.',
      attributes: [
        { key: 'UPDATE_DATETIME', value: '2025-02-01T09:00:00Z' },
        { key: 'SOURCE', value: 'wiki.example.com' },
      ],
    });
    assert.equal(mei?.url, 'https://people.example.com/p1');
    assert.deepEqual(
      mei?.attributes.map((a) => a.key),
      ['EMAIL', 'MANAGER', 'DEPARTMENT', 'TITLE'],
    );

    // What went over the wire.
    assert.equal(f.requests.length, 2);
    const [first, second] = f.requests;
    assert.equal(first?.headers.authorization, 'Bearer sk-test');
    assert.equal(first?.body.stream, true);
    assert.equal(first?.body.model, 'fake-model');
    assert.deepEqual(first?.body.tools?.map((t) => t.function.name).sort(), ['lookup_person', 'search_knowledge']);
    const system = first?.body.messages[0];
    assert.equal(system?.role, 'system');
    assert.match(String(system?.content), /\[n\]|\[1\]/);
    assert.match(String(system?.content), /could not find/);
    const results = toolMessages(second?.body.messages ?? []);
    assert.equal(results.length, 2);
    assert.match(results[0] ?? '', /^\[1\] Password reset — Reset steps/);
    assert.match(results[1] ?? '', /^\[2\] Mei Chen/);
    assert.match(results[1] ?? '', /Direct reports \(1\): Tom Diaz \(Technician\)/);
    assert.match(results[1] ?? '', /\[3\] Ada Park[\s\S]*Manager of Mei Chen/);
  });

  it('never sends a restricted document to the model for an outsider, but does for a directory-group member', async () => {
    const search: ScriptedTurn = {
      type: 'tool_calls',
      calls: [{ name: 'search_knowledge', arguments: '{"query":"password reset restructuring plan"}' }],
    };
    const answer: ScriptedTurn = { type: 'text', chunks: ['Open Settings.[1] ', 'Plan [2].'] };
    const f = await fake([search, answer, search, answer]);
    const engine = engineFor(f);

    const outsider = messages(await collect(engine.answer(request()))).at(-1);
    const sentToModel = toolMessages(f.requests[1]?.body.messages ?? []).join('\n');
    assert.match(sentToModel, /\[1\] Password reset/);
    assert.doesNotMatch(sentToModel, /restructuring|Confidential|40 roles/i);
    assert.deepEqual(
      outsider?.citations.map((c) => c.key),
      ['doc:pw'],
      'the [2] of an unseen document cites nothing',
    );

    // Hana's token has no groups; her directory entry puts her in hr-leads.
    const hana = request({ user: { id: 'u-hana', email: 'hana@example.com', emailVerified: true, groups: [] } });
    const insider = messages(await collect(engine.answer(hana))).at(-1);
    assert.match(toolMessages(f.requests[3]?.body.messages ?? []).join('\n'), /Restructuring plan \(confidential\)/);
    assert.deepEqual(insider?.citations.map((c) => c.key).sort(), ['doc:layoffs', 'doc:pw']);
    assert.ok(knowledge.searches.some((s) => s.principals.includes('group:hr-leads')));
  });

  it('sends the history as earlier user and assistant messages, with the sources of earlier answers', async () => {
    const f = await fake([{ type: 'text', chunks: ['Her email is mei@example.com.'] }]);
    const history: HistoryMessage[] = [
      { actor: 'USER', text: 'Who is Mei Chen?', citations: [] },
      {
        actor: 'ASSISTANT',
        text: 'Mei Chen is the IT Manager.',
        citations: [
          { url: 'https://people.example.com/p1', title: 'Mei Chen', attributes: [{ key: 'EMAIL', value: 'mei@example.com' }] },
        ],
      },
    ];
    await collect(engineFor(f).answer(request({ history, input: 'What is her email?' })));
    const sent = f.requests[0]?.body.messages ?? [];
    assert.deepEqual(
      sent.map((m) => m.role),
      ['system', 'user', 'assistant', 'user'],
    );
    assert.equal(sent[1]?.content, 'Who is Mei Chen?');
    assert.match(String(sent[2]?.content), /^Mei Chen is the IT Manager\.[\s\S]*EMAIL: mei@example\.com/);
    assert.equal(sent[3]?.content, 'What is her email?');
  });

  it('forbids tools on the last allowed step, so the model has to answer', async () => {
    const f = await fake([
      { type: 'tool_calls', calls: [{ name: 'search_knowledge', arguments: '{"query":"vpn"}' }] },
      { type: 'text', chunks: ['I could not find anything about the VPN.'] },
    ]);
    const events = await collect(engineFor(f, { maxSteps: 2 }).answer(request({ input: 'vpn?' })));
    assert.equal(messages(events).at(-1)?.text, 'I could not find anything about the VPN.');
    assert.deepEqual(messages(events).at(-1)?.citations, []);
    assert.notEqual(f.requests[0]?.body.tool_choice, 'none');
    assert.equal(f.requests[1]?.body.tool_choice, 'none');
    assert.match(toolMessages(f.requests[1]?.body.messages ?? [])[0] ?? '', /No documents matched/);
  });

  it('hides <think> blocks that a reasoning model writes into its content', async () => {
    const f = await fake([{ type: 'text', delayMs: 20, chunks: ['<thi', 'nk>The user wants [1]. Hmm.</th', 'ink>\n\nNothing found.'] }]);
    const snaps = messages(await collect(engineFor(f).answer(request())));
    for (const s of snaps) assert.doesNotMatch(s.text, /<|think|Hmm/);
    assert.equal(snaps.at(-1)?.text, 'Nothing found.');
  });

  describe('failures end the response with an EngineError', () => {
    it('a knowledge failure inside a tool → ENGINE_ERROR, without the model being asked again', async () => {
      class Broken extends StubKnowledge {
        override async search(): Promise<never> {
          throw new Error('relation "chunks" does not exist');
        }
      }
      const f = await fake([
        { type: 'tool_calls', calls: [{ name: 'search_knowledge', arguments: '{"query":"vpn"}' }] },
        { type: 'text', chunks: ['never'] },
      ]);
      const { err } = await expectEngineError(
        collect(engineFor(f, { knowledge: new Broken([], []) }).answer(request({ user: { id: 'u', groups: [] } }))),
        'ENGINE_ERROR',
      );
      assert.match(err.message, /knowledge base/);
      assert.doesNotMatch(err.message, /relation/);
      assert.equal(f.requests.length, 1);
    });

    it('HTTP 500 → PROVIDER_ERROR without leaking the provider message', async () => {
      const f = await fake([{ type: 'http_error', status: 500, message: 'internal db at 10.0.0.7 exploded' }]);
      const { err, ms } = await expectEngineError(collect(engineFor(f).answer(request())), 'PROVIDER_ERROR');
      assert.match(err.message, /HTTP 500/);
      assert.doesNotMatch(err.message, /10\.0\.0\.7|exploded/);
      assert.equal(f.requests.length, 1, 'no silent retries');
      assert.ok(ms < 2000);
    });

    it('HTTP 401 → PROVIDER_ERROR naming the credentials', async () => {
      const f = await fake([{ type: 'http_error', status: 401, message: 'Incorrect API key provided: sk-t***' }]);
      const { err } = await expectEngineError(collect(engineFor(f).answer(request())), 'PROVIDER_ERROR');
      assert.match(err.message, /credentials.*HTTP 401/);
      assert.doesNotMatch(err.message, /sk-/);
    });

    it('connection refused → PROVIDER_ERROR', async () => {
      const port = await freePort();
      const { err, ms } = await expectEngineError(
        collect(engineFor({ baseUrl: `http://127.0.0.1:${port}/v1` }).answer(request())),
        'PROVIDER_ERROR',
      );
      assert.match(err.message, /connect/);
      assert.ok(ms < 2000);
    });

    it('connection reset mid-stream → PROVIDER_ERROR', async () => {
      const f = await fake([{ type: 'reset', chunks: ['Half an ans', 'wer'] }]);
      const { err, ms } = await expectEngineError(collect(engineFor(f).answer(request())), 'PROVIDER_ERROR');
      assert.match(err.message, /interrupted/);
      assert.ok(ms < 2000);
    });

    it('a stream that stalls after its headers → ENGINE_TIMEOUT at the timeout', async () => {
      const f = await fake([{ type: 'stall_after_headers' }]);
      const { err, ms } = await expectEngineError(collect(engineFor(f).answer(request())), 'ENGINE_TIMEOUT');
      assert.ok(ms >= 450 && ms < 1500, `took ${ms} ms`);
      assert.match(err.message, /0\.5 seconds/);
    });

    it('a server that never sends headers → ENGINE_TIMEOUT at the timeout', async () => {
      const f = await fake([{ type: 'stall_before_headers' }]);
      const { ms } = await expectEngineError(collect(engineFor(f).answer(request())), 'ENGINE_TIMEOUT');
      assert.ok(ms >= 450 && ms < 1500, `took ${ms} ms`);
    });

    it('a stall after some text → ENGINE_TIMEOUT, after the snapshots already sent', async () => {
      const f = await fake([{ type: 'stall_after_headers', chunks: ['The first sentence is here. ', 'And then'] }]);
      const events: EngineEvent[] = [];
      const { ms } = await expectEngineError(
        (async () => {
          for await (const e of engineFor(f).answer(request())) events.push(e);
        })(),
        'ENGINE_TIMEOUT',
      );
      assert.ok(ms >= 450 && ms < 1500, `took ${ms} ms`);
      assert.equal(messages(events)[0]?.text, 'The first sentence is here.');
    });

    it('malformed SSE → PROVIDER_ERROR', async () => {
      const f = await fake([{ type: 'raw', lines: ['data: {"id":"x","object":"chat.completion.chunk","choices":[{', ''] }]);
      const { err } = await expectEngineError(collect(engineFor(f).answer(request())), 'PROVIDER_ERROR');
      assert.match(err.message, /malformed/);
    });

    it('malformed tool-call JSON → INVALID_TOOL_CALL, and the model is not called again', async () => {
      const f = await fake([
        { type: 'tool_calls', calls: [{ name: 'search_knowledge', arguments: '{"query": "vpn' }] },
        { type: 'text', chunks: ['should never be requested'] },
      ]);
      const { err } = await expectEngineError(collect(engineFor(f).answer(request())), 'INVALID_TOOL_CALL');
      assert.match(err.message, /search_knowledge.*invalid arguments/);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(f.requests.length, 1);
    });

    it('arguments that do not fit the schema → INVALID_TOOL_CALL', async () => {
      const f = await fake([{ type: 'tool_calls', calls: [{ name: 'lookup_person', arguments: '{"who": 42}' }] }]);
      await expectEngineError(collect(engineFor(f).answer(request())), 'INVALID_TOOL_CALL');
    });

    it('an unknown tool → INVALID_TOOL_CALL naming it', async () => {
      const f = await fake([{ type: 'tool_calls', calls: [{ name: 'delete_everything', arguments: '{}' }] }]);
      const { err } = await expectEngineError(collect(engineFor(f).answer(request())), 'INVALID_TOOL_CALL');
      assert.match(err.message, /unknown tool "delete_everything"/);
    });

    it('an empty answer → PROVIDER_ERROR rather than an empty message', async () => {
      const f = await fake([{ type: 'text', chunks: ['  ', '[7]'] }]);
      const { err } = await expectEngineError(collect(engineFor(f).answer(request())), 'PROVIDER_ERROR');
      assert.match(err.message, /empty/);
    });

    it("the caller's abort stops the answer promptly", async () => {
      const f = await fake([{ type: 'stall_after_headers' }]);
      const caller = new AbortController();
      setTimeout(() => caller.abort(), 100);
      const { ms } = await expectEngineError(
        collect(engineFor(f, { timeoutMs: 10_000 }).answer(request({ signal: caller.signal }))),
        'ENGINE_ERROR',
      );
      assert.ok(ms < 1000, `took ${ms} ms`);
    });
  });
});

afterAll(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

/** A port nothing listens on. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
