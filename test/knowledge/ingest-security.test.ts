import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { htmlToMarkdown } from '../../src/knowledge/html.ts';
import { parseSources, titleFromBody } from '../../src/knowledge/parse.ts';
import { tree } from './support.ts';

describe('ingest: no code or markup from documents', () => {
  it('refuses front matter in any language but YAML, without running it', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'parley-marker-')), 'pwned');
    const code = `(function(){ require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); return { title: 'x' }; })()`;
    const dir = tree({
      'js.md': `---js\n${code}\n---\nBody text.\n`,
      'javascript.md': `---javascript\n${code}\n---\nBody text.\n`,
      'coffee.md': `---coffee\ntitle: 'x'\n---\nBody text.\n`,
      'semi.md': `;;;\n{"title": "x"}\n;;;\nBody text.\n`,
      'ok.md': `---yaml\ntitle: Fine\n---\nBody text.\n`,
    });
    const out = await parseSources(dir);
    assert.equal(existsSync(marker), false, 'the front matter must not run');
    const reasons = new Map(out.errors.map((e) => [e.path, e.reason]));
    assert.match(reasons.get('js.md') ?? '', /front matter language "js" is not allowed/);
    assert.match(reasons.get('javascript.md') ?? '', /"javascript" is not allowed/);
    assert.match(reasons.get('coffee.md') ?? '', /"coffee" is not allowed/);
    assert.match(reasons.get('semi.md') ?? '', /;;; is not supported/);
    assert.deepEqual(out.documents.map((d) => [d.path, d.title]), [['ok.md', 'Fine']]);
    for (const e of out.errors) assert.doesNotMatch(e.reason, /writeFileSync/, 'errors never quote the file');
  });

  it('reads YAML front matter as data only (no custom tags, dates stay strings)', async () => {
    const dir = tree({
      'tag.md': '---\ntitle: !!js/function "function(){}"\n---\nBody.\n',
      'date.md': '---\ntitle: Dated\nupdated: 2026-05-01\n---\nBody.\n',
    });
    const out = await parseSources(dir);
    assert.match(out.errors.find((e) => e.path === 'tag.md')?.reason ?? '', /invalid front matter/);
    assert.equal(out.documents.find((d) => d.path === 'date.md')?.updatedAt, '2026-05-01T00:00:00.000Z');
  });

  it('stores HTML text as text: decoded entities never become live markup', async () => {
    const h = htmlToMarkdown(
      '<body><p>Type &lt;script&gt;alert(1)&lt;/script&gt; and &#91;x&#93;(javascript:alert(1)) here.</p>' +
        '<pre>&amp;lt;b&amp;gt; stays &lt;i&gt;</pre><p><code>&lt;img src=x onerror=y&gt;</code></p>' +
        '<p><a href="javascript:alert(1)">bad</a> <a href="https://ok.example.test/a b">good</a></p></body>',
    );
    // Outside code, "<" that could open a tag is escaped, and brackets cannot form a link.
    assert.match(h.markdown, /Type \\<script>alert\(1\)\\<\/script> and \\\[x\\\]\(javascript:alert\(1\)\) here\./);
    assert.doesNotMatch(h.markdown.replace(/```[\s\S]*?```|`[^`]*`/g, ''), /(^|[^\\])<[a-z/]/i);
    // Entities are decoded once: "&amp;lt;" is the text "&lt;", not "<".
    assert.match(h.markdown, /```\n&lt;b&gt; stays <i>\n```/);
    assert.match(h.markdown, /`<img src=x onerror=y>`/);
    assert.match(h.markdown, /^bad \[good\]\(https:\/\/ok\.example\.test\/a%20b\)$/m);
  });

  it('finds a title in linear time on long runs of whitespace', async () => {
    const body = '# a' + ' '.repeat(1500) + '#' + ' '.repeat(1500) + 'b\n' + '#'.repeat(5000) + 'x';
    const t0 = performance.now();
    assert.equal(titleFromBody(body, 'markdown'), 'a' + ' '.repeat(1500) + '#' + ' '.repeat(1500) + 'b');
    assert.equal(titleFromBody(' \t'.repeat(100_000), 'markdown'), null);
    // Before: the heading regex backtracked cubically (≈ 30 s for this input).
    assert.ok(performance.now() - t0 < 1000, `took ${Math.round(performance.now() - t0)} ms`);
  });

  it('does not follow links out of the ingested folder, and never echoes file contents in errors', async () => {
    const outside = tree({ 'secret.json': '{"title": "TOP-SECRET-VALUE"}', 'secret.md': 'TOP-SECRET-VALUE\n' });
    const dir = tree({
      'linked.md': 'Body of a linked page.\n',
      'bad-json.md': 'Body.\n',
      'bad-json.md.meta.json': '{ "title": TOP-SECRET-VALUE }',
      'bad-yaml.md': '---\ntitle: [TOP-SECRET-VALUE\n---\nBody.\n',
      'people.csv': 'name,email\n"TOP-SECRET-VALUE"x,a@example.test\n',
      'inner/real.md': 'Inner page.\n',
    });
    symlinkSync(join(outside, 'secret.json'), join(dir, 'linked.md.meta.json'));
    symlinkSync(join(outside, 'secret.md'), join(dir, 'leak.md'));
    symlinkSync(join(dir, 'inner', 'real.md'), join(dir, 'alias.md'));
    symlinkSync(outside, join(dir, 'linked-folder'));
    const out = await parseSources(dir);
    const reasons = new Map(out.errors.map((e) => [e.path, e.reason]));
    assert.match(reasons.get('linked.md') ?? '', /outside the ingested folder/);
    assert.match(reasons.get('leak.md') ?? '', /outside the ingested folder/);
    assert.match(reasons.get('linked-folder') ?? '', /link to a folder: not followed/);
    assert.match(reasons.get('bad-json.md') ?? '', /invalid sidecar .*invalid JSON/);
    assert.match(reasons.get('bad-yaml.md') ?? '', /invalid front matter/);
    assert.match(reasons.get('people.csv') ?? '', /invalid CSV/);
    for (const e of out.errors) assert.doesNotMatch(e.reason, /TOP-SECRET/, `${e.path}: ${e.reason}`);
    assert.deepEqual(out.documents.map((d) => d.path).sort(), ['alias.md', 'inner/real.md']);
    assert.ok(!out.documents.some((d) => d.body.includes('TOP-SECRET')));
  });
});
