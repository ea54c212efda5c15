// Markup from documents (or a model) never reaches answers live (contract §8). Judged by the CommonMark reference
// renderer, not by our own scanner: whatever it turns the text into must hold no tag, no image and no link
// other than http, https or mailto.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HtmlRenderer, Parser } from 'commonmark';
import { buildMessage } from '../../src/jobs/answer-messages.ts';
import { renderMessage } from '../../src/core/render.ts';
import { isSafeUrl, safeMarkdown, shiftOffset } from '../../src/core/markup.ts';
import { deriveKeys } from '../../src/store/secrets.ts';
import { uniq } from '../support/db.ts';
import { BASE, parseSse, startTestServer, type TestServer } from '../support/server.ts';
import { startFakeOpenAI } from '../llm/fake-openai.ts';

const reader = new Parser();
const writer = new HtmlRenderer();
const html = (md: string) => writer.render(reader.parse(md));

/** Every node the reference parser finds beyond text-level CommonMark (raw HTML, images, unsafe links). */
function liveMarkup(md: string): string[] {
  const problems: string[] = [];
  const walker = reader.parse(md).walker();
  for (let ev = walker.next(); ev; ev = walker.next()) {
    if (!ev.entering) continue;
    const n = ev.node;
    if (n.type === 'html_inline' || n.type === 'html_block') problems.push(`${n.type}: ${n.literal}`);
    else if (n.type === 'image') problems.push(`image: ${n.destination}`);
    else if (n.type === 'link' && !/^(https?:\/\/|mailto:)/i.test(n.destination ?? '')) problems.push(`link: ${n.destination}`);
  }
  return problems;
}

const HOSTILE = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<div onclick="x()">block</div>',
  '<!-- hidden -->',
  '<?php evil() ?>',
  '<![CDATA[x]]>',
  '</p><p>',
  '<javascript:alert(1)>',
  '<vbscript:msgbox(1)>',
  '[click](javascript:alert(1))',
  '[click](JaVaScRiPt:alert(1))',
  '[click](<javascript:alert(1)>)',
  '[click]( javascript:alert(1) "t")',
  '[click](javascript&colon;alert(1))',
  '[click](java&#x09;script:alert(1))',
  '[click](data:text/html;base64,PHNjcmlwdD4=)',
  '[click](/relative/path)',
  '[click](//evil.example/x)',
  '[click][ref]\n\n[ref]: javascript:alert(1)',
  '[ref]\n\n[ref]:\n  javascript:alert(1)',
  '> [q]: javascript:alert(1)\n\n[q]',
  '![tracker](https://evil.example/pixel.png)',
  '\\![not an image but a link](javascript:alert(1))',
  '\\\\<script>alert(1)</script>',
  '`<b>code</b>` and <b>bold</b>',
  '<https://ok.example/autolink>',
];

describe('markup policy', () => {
  it('leaves nothing live in hostile text, as the reference renderer sees it', () => {
    for (const text of HOSTILE) {
      assert.ok(liveMarkup(text).length > 0 || /^<https/.test(text), `the case is live before: ${text}`);
      const safe = safeMarkdown(`Before. ${text} After.`).text;
      assert.deepEqual(liveMarkup(safe), [], `${JSON.stringify(text)} → ${JSON.stringify(safe)} → ${html(safe)}`);
    }
  });

  it('keeps text-level CommonMark and allowed links as they are', () => {
    const fine = [
      'Plain **bold**, _em_, `code`, a list:\n\n- one\n- two',
      'See [the policy](https://intranet.example/policy) or [mail us](mailto:help@example.test).',
      '[ref link][r]\n\n[r]: http://intranet.example/r',
      'Math: 3 < 4 and 5 > 2, arrows <- and ->, emoji 🎉 and 京都.',
    ];
    for (const text of fine) {
      const r = safeMarkdown(text);
      assert.equal(r.text, text, text);
      assert.deepEqual(r.insertedAt, []);
    }
  });

  it('is idempotent, and shifts offsets by the backslashes inserted before them (code points, emoji included)', () => {
    for (const text of HOSTILE) {
      const once = safeMarkdown(text).text;
      assert.equal(safeMarkdown(once).text, once, text);
    }
    const text = '🎉 <b>x</b> 🎉 done.';
    const r = safeMarkdown(text);
    assert.equal(r.text, '🎉 \\<b>x\\</b> 🎉 done.');
    assert.deepEqual(r.insertedAt, [2, 6]);
    const end = Array.from(text).length;
    assert.equal(shiftOffset(end, r.insertedAt), Array.from(r.text).length);
    assert.equal(shiftOffset(2, r.insertedAt), 2, 'an offset at an insertion point stays before the backslash');
    assert.equal(shiftOffset(3, r.insertedAt), 4);
    assert.ok(isSafeUrl('https://x.example/a') && isSafeUrl('mailto:a@b.test'));
    assert.ok(!isSafeUrl('javascript:alert(1)') && !isSafeUrl('https://x.example/"onmouseover=') && !isSafeUrl('/relative'));
  });

  it('buildMessage and renderMessage: safe text, citation bodies and titles, offsets moved, unsafe URLs dropped', () => {
    const row = { id: 'resp_x', conversation_id: 'conv_x', input_message_id: 'msg_in', user_claims: { id: 'u', groups: [] } };
    const text = '🎉 Use <script>steal()</script> now. Then [click](javascript:x()).';
    const sentenceEnd = Array.from('🎉 Use <script>steal()</script> now.').length;
    const m = buildMessage(
      row,
      'msg_1',
      new Date().toISOString(),
      {
        type: 'message',
        text,
        citations: [
          { key: 'a', url: 'https://kb.example.test/a', title: 'A <img src=x onerror=y()>', body: 'Body ![p](https://evil.example/p.png) [l](javascript:z())', attributes: [] },
          { key: 'b', url: 'javascript:alert(1)', title: 'B', body: 'b', attributes: [] },
          { key: 'c', url: 'urn:parley:doc:misc/notes.txt', title: 'C', body: 'c', attributes: [] },
          { key: 'd', url: 'mailto:ann@example.test', title: 'D', body: 'd', attributes: [] },
        ],
        references: [
          { key: 'a', offset: sentenceEnd },
          { key: 'b', offset: Array.from(text).length },
          { key: 'c', offset: Array.from(text).length },
          { key: 'd', offset: Array.from(text).length },
        ],
      },
      new Map(),
    );
    const out = m.content.type === 'COMMONMARK_TEXT' ? m.content.commonmark_text.text : '';
    assert.deepEqual(liveMarkup(out), []);
    assert.deepEqual(
      m.citations!.map((c) => c.url),
      ['https://kb.example.test/a', 'urn:parley:doc:misc/notes.txt', 'mailto:ann@example.test'],
      'a javascript: citation URL is dropped; a page, a source without a page (urn:parley:) and a person by mail are kept',
    );
    assert.equal(m.content_references!.length, 3);
    const at = m.content_references![0]!.offset;
    assert.equal(Array.from(out).slice(0, at).join(''), '🎉 Use \\<script>steal()\\</script> now.', 'the reference still sits after the sentence');
    for (const c of m.citations!) {
      for (const part of [c.display.title, c.display.body]) {
        assert.equal(part.type, 'COMMONMARK_TEXT');
        if (part.type === 'COMMONMARK_TEXT') assert.deepEqual(liveMarkup(part.commonmark_text.text), [], part.commonmark_text.text);
      }
    }

    // A row stored before this policy (raw text, raw offsets) renders safe too, offsets moved.
    const keys = deriveKeys(Buffer.alloc(32, 7).toString('base64'));
    const stored = renderMessage(keys, {
      id: 'msg_old', conversation_id: 'conv_x', response_id: 'resp_x', actor: 'ASSISTANT', text,
      citations: [{ citation_id: 'cite_a', url: 'https://kb.example.test/a', display: { title: { type: 'COMMONMARK_TEXT', commonmark_text: { text: '<b>T</b>' } }, body: { type: 'COMMONMARK_TEXT', commonmark_text: { text: 'x' } }, attributes: [] } }],
      content_references: [{ citation_id: 'cite_a', offset: sentenceEnd }],
      created_at: new Date(),
    });
    assert.equal(stored.content.type === 'COMMONMARK_TEXT' && stored.content.commonmark_text.text, out);
    assert.equal(stored.content_references![0]!.offset, at);
    const title = stored.citations![0]!.display.title;
    assert.equal(title.type === 'COMMONMARK_TEXT' && title.commonmark_text.text, '\\<b>T\\</b>');
  });
});

describe('markup from documents never reaches answers live (offline engine, end to end)', () => {
  let s: TestServer;
  const assistant = uniq('asst-markup');
  before(async () => {
    const dir = (await import('node:fs')).mkdtempSync('/tmp/parley-markup-');
    (await import('node:fs')).writeFileSync(`${dir}/p.yaml`, `assistants:\n  - name: ${assistant}\n`);
    s = await startTestServer({ engine: 'configured', env: { PARLEY_CONFIG: `${dir}/p.yaml` } });
    const admin = await s.token({ groups: ['parley-admins'] });
    const r = await s.parley.app.inject({
      method: 'POST',
      url: '/admin/v1/ingest',
      headers: { authorization: `Bearer ${admin}` },
      payload: {
        assistant,
        root: '/markup',
        prune: false,
        documents: [
          {
            path: 'kiosk.md', format: 'markdown', title: 'Zyphon kiosk <img src=x onerror=alert(1)>', url: 'https://kb.example.test/kiosk', updatedAt: null, access: ['*'],
            body: '# Zyphon kiosk\n\nThe zyphon kiosk resets badges 🎫 in the lobby <script>alert(document.cookie)</script>. ' +
              'To reset a badge at the zyphon kiosk, [click here](javascript:alert(1)) or see ![badge](https://evil.example/pixel.png). ' +
              'The zyphon kiosk is open <b onmouseover=alert(1)>daily</b> from 8 to 6.',
          },
        ],
        people: [],
      },
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().errors, []);
  });
  after(() => s.close());

  it('answer text, citation titles and bodies hold no live tag, image or unsafe link; offsets land on code points', async () => {
    const t = await s.token();
    const headers = { authorization: `Bearer ${t}`, 'assistant-name': assistant };
    const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers, payload: {} })).json().conversation_id;
    const created = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers, payload: { input: { text: 'How do I reset a badge at the zyphon kiosk?' } } });
    let done: Record<string, any> = {};
    for (const until = Date.now() + 20000; Date.now() < until; await new Promise((res) => setTimeout(res, 20))) {
      done = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/responses/${created.json().response_id}`, headers })).json();
      if (done['status'] === 'COMPLETED' || done['status'] === 'FAILED') break;
    }
    assert.equal(done['status'], 'COMPLETED');
    const msg = done['outputs'].find((o: { type: string }) => o.type === 'MESSAGE').message;
    const text: string = msg.content.commonmark_text.text;
    assert.ok(msg.citations.length > 0, 'the article is cited');
    assert.match(text + JSON.stringify(msg.citations), /zyphon/i);
    const everything = [text, ...msg.citations.flatMap((c: any) => [c.display.title.commonmark_text.text, c.display.body.commonmark_text.text])];
    for (const part of everything) assert.deepEqual(liveMarkup(part), [], part);
    for (const ref of msg.content_references) assert.ok(ref.offset <= Array.from(text).length);

    // The stored message (messages endpoint) says the same.
    const list = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages`, headers })).json();
    const stored = (list.messages ?? list.data).find((m: any) => m.message_id === msg.message_id);
    assert.equal(stored.content.commonmark_text.text, text);
    assert.deepEqual(stored.content_references, msg.content_references);
  });
});

describe('markup written by a language model never reaches answers live', () => {
  it('the model echoes hostile markup from a document: the streamed answer and its citation are safe, offsets right', async () => {
    const fake = await startFakeOpenAI([
      { type: 'tool_calls', calls: [{ name: 'search_knowledge', arguments: JSON.stringify({ query: 'quillon badge' }) }] },
      { type: 'text', chunks: ['🎫 Badges: <img src=x onerror=alert(1)> ', 'reset at the [kiosk](javascript:alert(1)) [1].', ' ![p](https://evil.example/p.png)'] },
    ]);
    const assistant = uniq('llm-markup');
    const dir = mkdtempSync(join(tmpdir(), 'parley-llm-markup-'));
    writeFileSync(join(dir, 'p.yaml'), `assistants:\n  - name: ${assistant}\n`);
    const s = await startTestServer({
      env: { PARLEY_CONFIG: join(dir, 'p.yaml'), PARLEY_ENGINE: 'openai-compatible', LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake-model', LLM_TIMEOUT_MS: '20000' },
      engine: 'configured',
    });
    try {
      await s.parley.knowledge.ingest({
        assistant,
        root: 'test:llm-markup',
        prune: false,
        documents: [
          {
            path: 'q.md', format: 'markdown', title: 'Quillon <script>x()</script> badges', url: 'https://intranet.example/kb/quillon', updatedAt: null, access: ['*'],
            body: '# Quillon\n\nQuillon badges reset at the kiosk <b onclick=alert(1)>now</b>.\n',
          },
        ],
        people: [],
      });
      const t = await s.token();
      const h = { authorization: `Bearer ${t}`, 'assistant-name': assistant };
      const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: h, payload: {} })).json().conversation_id;
      const res = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses/stream`, headers: h, payload: { input: { text: 'How do quillon badges reset?' } } });
      const events = parseSse(res.body).events;
      assert.equal(events.at(-1)!.event, 'RESPONSE_COMPLETED', res.body.slice(-500));
      // Every snapshot on the stream, not only the last, is safe.
      for (const e of events) {
        for (const m of (e.data ?? '').matchAll(/"commonmark_text":\{"text":("(?:[^"\\]|\\.)*")\}/g)) assert.deepEqual(liveMarkup(JSON.parse(m[1]!)), [], m[1]);
      }
      const msg = JSON.parse(events.at(-1)!.data!).response.outputs.find((o: { type: string }) => o.type === 'MESSAGE').message;
      const text: string = msg.content.commonmark_text.text;
      assert.match(text, /\\<img/);
      assert.equal(msg.citations.length, 1);
      assert.equal(msg.citations[0].display.title.commonmark_text.text, 'Quillon \\<script>x()\\</script> badges');
      assert.deepEqual(liveMarkup(msg.citations[0].display.body.commonmark_text.text), []);
      const at = msg.content_references[0].offset;
      assert.equal(Array.from(text).slice(0, at).join(''), '🎫 Badges: \\<img src=x onerror=alert(1)> reset at the [kiosk]\\(javascript:alert(1)).');
    } finally {
      await s.close();
      await fake.close();
    }
  });
});
