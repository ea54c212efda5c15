import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { exportFeedback } from '../../src/core/feedback.ts';
import { mintSigninCode } from '../../src/core/signin-links.ts';
import { uniq } from '../support/db.ts';
import { ASSISTANT, BASE, startTestServer, TEST_SECRET, type TestServer } from '../support/server.ts';
import { launch, type Launched } from './browser.ts';

const ROOT = join(import.meta.dirname, '../..');
const OUTPUT = join(import.meta.dirname, 'output');
const KEY = new TextEncoder().encode(TEST_SECRET);

describe('chat page in a real browser', () => {
  let s: TestServer;
  let base: string;
  let chromium: Launched;
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const pageErrors: string[] = [];
  let page: Page;
  const alice = `${uniq('alice')}@acme.example`;
  let aliceConversation = '';

  before(async () => {
    s = await startTestServer({ env: { RESPONSE_TIMEOUT_SECONDS: '30' } });
    await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
    s.parley.app.server.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    s.parley.app.server.on('request', (req: { method?: string; url?: string }) => requests.push(`${req.method} ${req.url}`));
    base = `http://127.0.0.1:${(s.parley.app.server.address() as AddressInfo).port}`;
    chromium = await launch();
  });
  after(async () => {
    await chromium?.close();
    await s?.close();
  });

  const newPage = async (launched: Launched = chromium) => {
    const p = await launched.browser.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    return p;
  };
  const link = (email: string) => `${base}/#signin=${mintSigninCode(KEY, { sub: email, email, groups: [] })}`;
  const log = (p: Page) => p.getByRole('log', { name: 'Messages' });
  const lastAnswer = (p: Page) => p.locator('article.msg.assistant').last();

  /** A test that leaves a screenshot of the page under test/browser/output/ when it fails. */
  const step = (name: string, fn: () => Promise<void>) =>
    it(name, async () => {
      try {
        await fn();
      } catch (err) {
        mkdirSync(OUTPUT, { recursive: true });
        await page?.screenshot({ path: join(OUTPUT, `${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`), fullPage: true }).catch(() => undefined);
        throw err;
      }
    });

  step('signs in by the link `parley token --link` prints; the link works once', async () => {
    const run = spawnSync(process.execPath, ['bin/parley.mjs', 'token', '--user', alice, '--link', '--url', base], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PARLEY_JWT_SECRET: TEST_SECRET, PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-cli-')), LOG_LEVEL: 'silent' },
    });
    assert.equal(run.status, 0, run.stderr);
    const url = run.stdout.trim().split('\n').at(-1)!;
    page = await newPage();
    await page.goto(url);
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    await page.getByText(alice).waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the code is gone from the address bar');

    // The same link in another browser: refused, in plain words.
    const other = await launch();
    try {
      const p2 = await newPage(other);
      await p2.goto(url);
      await p2.getByRole('alert').getByText(/invalid, expired or already used/).waitFor();
      assert.equal(await p2.getByRole('textbox', { name: 'Message' }).count(), 0);
    } finally {
      await other.close();
    }
  });

  step('asks with Enter and shows the streamed answer with numbered citations, passages and collapsed reasoning', async () => {
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('hello browser');
    await box.press('Enter');
    const answer = lastAnswer(page);
    await answer.getByRole('button', { name: 'Helpful', exact: true }).waitFor();
    await answer.getByText('Résumé 🙂 first sentence.').waitFor();
    await answer.getByText('You asked: hello browser').waitFor();
    const reasoning = answer.locator('details.reasoning');
    assert.equal(await reasoning.getAttribute('open'), null, 'reasoning is collapsed');
    assert.match((await reasoning.locator('summary').textContent()) ?? '', /Reasoning \(1 step\)/);

    const markers = answer.getByRole('link', { name: /^Source \d$/ });
    assert.deepEqual(await markers.allTextContents(), ['[1]', '[2]']);
    const sources = answer.getByRole('list', { name: 'Sources' });
    const doc1 = sources.getByRole('link', { name: 'Doc one' });
    assert.equal(await doc1.getAttribute('href'), 'https://intranet.example/kb/doc-1');
    assert.equal(await doc1.getAttribute('rel'), 'noopener noreferrer nofollow');
    // The marker points at its source and shows the passage on focus.
    const first = markers.first();
    const target = (await first.getAttribute('href'))!.slice(1);
    assert.equal(await sources.locator(`li[id="${target}"]`).getByRole('link').textContent(), 'Doc one');
    const tip = answer.getByRole('tooltip').first();
    assert.equal(await tip.isVisible(), false);
    await first.focus();
    await tip.getByText('The passage relied on.').waitFor({ state: 'visible' });
    // The conversation got its title in the list.
    await page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: 'hello browser', exact: true }).waitFor();
    aliceConversation = /#c=(conv_\w+)/.exec(page.url())![1]!;
  });

  step('sends Helpful, then a comment, to the message\'s feedback callback', async () => {
    const answer = lastAnswer(page);
    await answer.getByRole('button', { name: 'Helpful', exact: true }).click();
    await answer.getByText('Thanks for the feedback.').waitFor();
    assert.equal(await answer.getByRole('button', { name: 'Helpful', exact: true }).getAttribute('aria-pressed'), 'true');
    await answer.getByRole('textbox', { name: 'Comment (optional)' }).fill('clear and short');
    await answer.getByRole('button', { name: 'Send comment' }).click();
    await answer.getByText('Thanks for the comment.').waitFor();
    const mine = (await exportFeedback(s.parley.deps, { assistant: ASSISTANT })).filter((f) => f.user_id === alice);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.rating, 'HELPFUL');
    assert.equal(mine[0]!.comment, 'clear and short');
  });

  step('keeps the conversation and its history across a reload', async () => {
    await page.reload();
    await log(page).getByText('hello browser', { exact: true }).waitFor();
    await log(page).getByText('You asked: hello browser').waitFor();
    await lastAnswer(page).getByRole('list', { name: 'Sources' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: 'hello browser', exact: true }).getAttribute('aria-current'), 'page');
  });

  step('renames and archives conversations from the list', async () => {
    const nav = page.getByRole('navigation', { name: 'Conversations' });
    await nav.getByRole('button', { name: 'Rename hello browser' }).click();
    const input = nav.getByRole('textbox', { name: 'New title' });
    await input.fill('Renamed in the browser');
    await input.press('Enter');
    await nav.getByRole('button', { name: 'Renamed in the browser', exact: true }).waitFor();
    const r = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${aliceConversation}`, headers: s.headers(await s.token({ sub: alice, email: alice })) });
    assert.equal((r.json() as { title: string }).title, 'Renamed in the browser');

    // A second conversation, archived: it leaves the list and the API lists it as archived.
    await page.getByRole('button', { name: '+ New conversation' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('to be archived');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await nav.getByRole('button', { name: 'to be archived', exact: true }).waitFor();
    await nav.getByRole('button', { name: 'Archive to be archived' }).click();
    await nav.getByRole('button', { name: 'to be archived', exact: true }).waitFor({ state: 'detached' });
    const archived = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations?archived=true`, headers: s.headers(await s.token({ sub: alice, email: alice })) });
    assert.deepEqual((archived.json() as { conversations: { title: string }[] }).conversations.map((c) => c.title), ['to be archived']);
  });

  step('another user sees none of the first user\'s conversations', async () => {
    const other = await launch();
    try {
      const bob = `${uniq('bob')}@acme.example`;
      const p = await newPage(other);
      await p.goto(link(bob));
      await p.getByText(bob).waitFor();
      assert.equal(await p.getByRole('navigation', { name: 'Conversations' }).getByRole('listitem').count(), 0);
      // Even by address: plain words, nothing of Alice's.
      await p.goto(`${base}/#c=${aliceConversation}`);
      await p.getByRole('alert').getByText(/That conversation no longer exists\. \(trace id [0-9a-f-]{36}\)/).waitFor();
      assert.equal(await p.getByText('hello browser').count(), 0);
    } finally {
      await other.close();
    }
  });

  step('survives a dropped connection mid-answer: resumes, no duplicate text, one answer', async () => {
    await page.getByRole('button', { name: '+ New conversation' }).click();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('slow:700');
    await box.press('Enter');
    const answer = lastAnswer(page);
    await answer.getByText('Résumé 🙂 first sentence.').waitFor();
    // The network drops: every connection the browser has to the server is cut.
    const before = requests.length;
    for (const sock of sockets) sock.destroy();
    await answer.getByRole('button', { name: 'Helpful', exact: true }).waitFor({ timeout: 20000 });
    assert.ok(requests.slice(before).some((r) => /^GET \/rest\/v1beta1\/conversations\/conv_\w+\/responses\/resp_\w+\/stream$/.test(r)), 'the page resumed the stream');
    const text = (await answer.locator('.text').textContent()) ?? '';
    assert.equal(text.split('first sentence.').length - 1, 1, `no duplicate text: ${text}`);
    assert.equal(text.split('You asked: slow:700').length - 1, 1);
    assert.equal(await log(page).getByText('slow:700', { exact: true }).count(), 1, 'the question shows once');
    const conv = /#c=(conv_\w+)/.exec(page.url())![1]!;
    const msgs = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/messages`, headers: s.headers(await s.token({ sub: alice, email: alice })) });
    assert.deepEqual((msgs.json() as { messages: { actor: string }[] }).messages.map((m) => m.actor), ['ASSISTANT', 'USER'], 'one question, one answer');
  });

  step('renders answers as text only: no markup, script or unsafe link from an answer runs', async () => {
    await page.getByRole('button', { name: '+ New conversation' }).click();
    const hostile = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> [click](javascript:window.__pwned=3) **bold**';
    await page.getByRole('textbox', { name: 'Message' }).fill(hostile);
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    const answer = lastAnswer(page);
    await answer.getByRole('button', { name: 'Helpful', exact: true }).waitFor();
    await answer.locator('.text').getByText('<img src=x onerror="window.__pwned=1">', { exact: false }).waitFor();
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('main script').count(), 0);
    assert.equal(await answer.locator('a[href^="javascript:" i]').count(), 0);
    assert.equal(await answer.locator('strong', { hasText: 'bold' }).count(), 1, 'Markdown itself still renders');
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
  });

  step('shows a failed answer and errors in plain words', async () => {
    await page.getByRole('button', { name: '+ New conversation' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('fail');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await lastAnswer(page).getByText(/Parley could not answer this time/).waitFor();
  });

  step('stops an answer with the Stop button (the response is cancelled)', async () => {
    await page.getByRole('button', { name: '+ New conversation' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('hang');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await page.getByRole('button', { name: 'Stop' }).click();
    await lastAnswer(page).getByText('You stopped this answer.').waitFor();
    // The page re-reads the conversation after the stream ends and only then enables Send: wait for that state
    // (a snapshot right after the note appeared raced it on PostgreSQL) rather than sampling it once.
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Send', disabled: false }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Stop' }).isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Send' }).isEnabled(), true);
  });

  step('has no serious accessibility violations (axe-core), in light and dark', async () => {
    await page.goto(`${base}/#c=${aliceConversation}`);
    await lastAnswer(page).getByRole('list', { name: 'Sources' }).waitFor();
    const serious = async (p: Page) =>
      (await new AxeBuilder({ page: p }).analyze()).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    assert.deepEqual(await serious(page), []);
    const dark = await launch({ colorScheme: 'dark' });
    try {
      const p = await newPage(dark);
      await p.goto(link(alice));
      await p.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: 'Renamed in the browser', exact: true }).click();
      await lastAnswer(p).getByRole('list', { name: 'Sources' }).waitFor();
      assert.deepEqual(await serious(p), []);
    } finally {
      await dark.close();
    }
  });

  step('fits a phone: no sideways scroll, the conversation list behind a menu button', async () => {
    const phone = await launch({ viewport: { width: 375, height: 740 } });
    try {
      const p = await newPage(phone);
      await p.goto(link(alice));
      await p.getByRole('textbox', { name: 'Message' }).waitFor();
      const nav = p.getByRole('navigation', { name: 'Conversations' });
      assert.equal(await nav.isVisible(), false);
      const menu = p.getByRole('button', { name: 'Conversations' });
      await menu.click();
      assert.equal(await menu.getAttribute('aria-expanded'), 'true');
      await nav.getByRole('button', { name: 'Renamed in the browser', exact: true }).click();
      await lastAnswer(p).getByRole('list', { name: 'Sources' }).waitFor();
      assert.ok(await p.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'no horizontal overflow');
    } finally {
      await phone.close();
    }
  });

  it('raised no script error on any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
