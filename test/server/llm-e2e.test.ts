import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { uniq } from '../support/db.ts';
import { parseSse, startTestServer } from '../support/server.ts';
import { startFakeOpenAI } from '../llm/fake-openai.ts';

/** The whole path with the language-model engine: HTTP → worker → ai SDK → a fake provider on a real socket. */
describe('language-model engine through the API', () => {
  it('streams a cited answer from tool results, and a provider outage ends FAILED', async () => {
    const fake = await startFakeOpenAI([
      { type: 'tool_calls', calls: [{ name: 'search_knowledge', arguments: JSON.stringify({ query: 'zeppelin mooring' }) }] },
      { type: 'text', chunks: ['Zeppelins are moored at ', 'dock seven of the Austin office [1].', ' See also [7].'] },
      { type: 'http_error', status: 503, message: 'overloaded' },
    ]);
    const assistant = uniq('llm-assistant');
    const dir = mkdtempSync(join(tmpdir(), 'parley-llm-'));
    writeFileSync(join(dir, 'parley.yaml'), `assistants:\n  - name: ${assistant}\n`);
    const s = await startTestServer({
      env: { PARLEY_CONFIG: join(dir, 'parley.yaml'), PARLEY_ENGINE: 'openai-compatible', LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake-model', LLM_TIMEOUT_MS: '5000' },
      engine: 'configured',
    });
    try {
      await s.parley.knowledge.ingest({
        assistant,
        root: 'test:llm',
        prune: false,
        documents: [
          {
            path: 'zeppelin.md',
            format: 'markdown',
            title: 'Zeppelin mooring',
            url: 'https://intranet.example/kb/zeppelin',
            updatedAt: null,
            access: ['*'],
            body: '# Mooring\n\nZeppelins are moored at dock seven of the Austin office.\n',
          },
        ],
        people: [],
      });
      const t = await s.token();
      const h = { authorization: `Bearer ${t}`, 'assistant-name': assistant };
      const conv = (await s.parley.app.inject({ method: 'POST', url: '/rest/v1beta1/conversations', headers: h, payload: {} })).json().conversation_id;
      const res = await s.parley.app.inject({ method: 'POST', url: `/rest/v1beta1/conversations/${conv}/responses/stream`, headers: h, payload: { input: { text: 'Where are zeppelins moored?' } } });
      const events = parseSse(res.body).events;
      assert.equal(events.at(-1)!.event, 'RESPONSE_COMPLETED');
      const response = JSON.parse(events.at(-1)!.data!).response;
      const types = response.outputs.map((o: { type: string }) => o.type);
      assert.equal(types[0], 'REASONING_MESSAGE', 'the model searched first');
      const msg = response.outputs.find((o: { type: string }) => o.type === 'MESSAGE').message;
      const text: string = msg.content.commonmark_text.text;
      assert.doesNotMatch(text, /\[\d\]/, 'markers stripped');
      assert.match(text, /dock seven of the Austin office\./);
      assert.equal(msg.citations.length, 1, '[7] matches no source and is dropped');
      assert.equal(msg.citations[0].url, 'https://intranet.example/kb/zeppelin');
      assert.equal(msg.content_references[0].offset, Array.from('Zeppelins are moored at dock seven of the Austin office.').length);
      // the model saw the tool result with the passage
      assert.match(JSON.stringify(fake.requests[1]!.body.messages), /dock seven/);

      const failed = await s.parley.app.inject({ method: 'POST', url: `/rest/v1beta1/conversations/${conv}/responses/stream`, headers: h, payload: { input: { text: 'again?' } } });
      const last = parseSse(failed.body).events.at(-1)!;
      assert.equal(last.event, 'RESPONSE_FAILED');
      const err = JSON.parse(last.data!).response.error;
      assert.equal(err.code, 'PROVIDER_ERROR', JSON.stringify(err) + ' requests=' + JSON.stringify(fake.requests.map((r) => r.body.messages.map((m) => [m.role, String(m.content ?? '').slice(0, 200), m.tool_calls?.length ?? 0]))));
      assert.doesNotMatch(err.message, /overloaded|127\.0\.0\.1/, 'no provider details leak');
    } finally {
      await s.close();
      await fake.close();
    }
  });
});
