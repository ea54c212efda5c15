import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runIngestCommand } from '../../src/cli/ingest.ts';
import { crawlSite, siteCacheFile } from '../../src/knowledge/site.ts';
import { testDb, uniq } from '../support/db.ts';

/** A small intranet on a local port: pages, robots.txt, a sitemap, an off-site link and a page that can vanish. */
const served = { full: 0, notModified: 0 };

function site(pages: Map<string, string>): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/robots.txt') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nDisallow: /kb/private/\n');
    const body = pages.get(url.pathname);
    if (body === undefined) return void res.writeHead(404).end('not found');
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      served.notModified++;
      return void res.writeHead(304, { etag }).end();
    }
    served.full++;
    const type = url.pathname.endsWith('.xml') ? 'application/xml' : url.pathname.endsWith('.png') ? 'image/png' : 'text/html; charset=utf-8';
    res.writeHead(200, { 'content-type': type, etag, 'last-modified': 'Tue, 03 Nov 2026 10:00:00 GMT' }).end(body);
  });
}

const page = (title: string, body: string, extra = '') => `<html><head><title>${title}</title>${extra}</head><body><h1>${title}</h1>${body}</body></html>`;

describe('sites as sources', () => {
  const pages = new Map<string, string>();
  let server: Server;
  let base: string;
  before(async () => {
    pages.set('/kb/', page('Home', '<p>Welcome.</p><a href="vpn.html">VPN</a> <a href="/kb/hr/leave.html">Leave</a> <a href="private/salaries.html">Pay</a> <a href="https://elsewhere.example.test/x">Off site</a> <a href="/outside.html">Outside</a> <a href="logo.png">Logo</a>'));
    pages.set('/kb/vpn.html', page('VPN reset', '<p>Reset the VPN password in the portal.</p><a href="/kb/">Home</a>'));
    pages.set('/kb/hr/leave.html', page('Leave policy', '<p>Annual leave is 25 days.</p>', '<meta name="kb:access" content="hr">'));
    pages.set('/kb/private/salaries.html', page('Salaries', '<p>Secret salaries.</p>'));
    pages.set('/outside.html', page('Outside', '<p>Not under /kb/.</p>'));
    pages.set('/kb/logo.png', 'PNG');
    server = site(pages);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('crawls within the start folder and host, honours robots.txt, and reads page metadata', async () => {
    const out = await crawlSite(`${base}/kb/`);
    assert.equal(out.fatal, undefined);
    assert.deepEqual(out.documents.map((d) => d.url).sort(), [`${base}/kb/`, `${base}/kb/hr/leave.html`, `${base}/kb/vpn.html`]);
    const leave = out.documents.find((d) => d.url.endsWith('leave.html'))!;
    assert.deepEqual(leave.access, ['group:hr']);
    assert.equal(leave.updatedAt, '2026-11-03T10:00:00.000Z');
    assert.ok(!out.documents.some((d) => d.body.includes('Secret')), 'robots.txt Disallow is honoured');
    assert.ok(out.notices?.some((n) => n.path === '/kb/logo.png' && /skipped: image\/png/.test(n.reason)));
  });

  it('ingests a site as a source and prunes pages that vanished; a dead start page removes nothing', async () => {
    const db = await testDb();
    const assistant = uniq('asst');
    const run = async (url: string, prune: boolean) => {
      const sink = new PassThrough();
      let text = '';
      sink.on('data', (c: Buffer) => (text += c.toString()));
      const code = await runIngestCommand({ path: url, assistant, prune, target: { kind: 'db', db }, out: sink, isTTY: false });
      return { code, last: text.trim().split('\n').at(-1)! };
    };
    assert.match((await run(`${base}/kb/`, false)).last, /ingested 3 documents \(3 added/);
    pages.delete('/kb/vpn.html');
    assert.match((await run(`${base}/kb/`, true)).last, /ingested 2 documents \(0 added, 0 updated, 2 unchanged, 1 removed\)/);
    const urls = (await db.query<{ url: string }>('SELECT url FROM kb_documents WHERE assistant = $1 ORDER BY url', [assistant])).map((r) => r.url);
    assert.deepEqual(urls, [`${base}/kb/`, `${base}/kb/hr/leave.html`]);
    const dead = await run(`${base}/gone/`, true);
    assert.equal(dead.code, 2);
    assert.match(dead.last, /HTTP 404; nothing was changed/);
  });

  it('re-crawls with If-None-Match: unchanged pages answer 304 and are reused, changed ones are fetched', async () => {
    const cacheFile = siteCacheFile(mkdtempSync(join(tmpdir(), 'parley-site-')), `${base}/kb/`);
    pages.set('/kb/vpn.html', page('VPN reset', '<p>Reset the VPN password in the portal.</p>'));
    const first = await crawlSite(`${base}/kb/`, { cacheFile });
    assert.equal(first.documents.length, 3);
    const before = { ...served };
    pages.set('/kb/vpn.html', page('VPN reset', '<p>Reset the VPN password at the help desk now.</p>'));
    const second = await crawlSite(`${base}/kb/`, { cacheFile });
    assert.equal(served.notModified - before.notModified, 2, 'home and leave answer 304');
    assert.equal(served.full - before.full, 1 + 1, 'vpn.html changed (and the image is fetched again, not cached)');
    assert.deepEqual(second.documents.map((d) => d.url).sort(), first.documents.map((d) => d.url).sort());
    assert.match(second.documents.find((d) => d.url.endsWith('vpn.html'))!.body, /help desk/);
    assert.ok(second.notices?.some((n) => /2 pages not modified since the last crawl/.test(n.reason)));
  });

  it('maps URL prefixes to access lists from configuration, over the page\'s own <meta>', async () => {
    const out = await crawlSite(`${base}/kb/`, {
      access: [
        { prefix: `${base}/kb/`, access: ['staff'] },
        { prefix: `${base}/kb/hr/`, access: ['group:hr-admins', 'email:boss@example.test'] },
      ],
    });
    const by = new Map(out.documents.map((d) => [d.url.slice(base.length), d.access]));
    assert.deepEqual(by.get('/kb/'), ['group:staff']);
    assert.deepEqual(by.get('/kb/hr/leave.html'), ['email:boss@example.test', 'group:hr-admins'], 'the longest prefix wins over <meta> access');
  });
});
