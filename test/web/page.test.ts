import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('chat page', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it('is served at / with its bundled script and style, under a strict CSP, small', async () => {
    const page = await s.parley.app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(page.body, /<meta name="parley-assistant" content="acmecorp-conversations-rest-api">/);
    const assets = [...page.body.matchAll(/(?:src|href)="(\/web\/app\.[0-9a-f]{12}\.(?:js|css))"/g)].map((m) => m[1]!);
    assert.equal(assets.length, 2);
    let gz = gzipSync(page.rawPayload).length;
    for (const url of assets) {
      const r = await s.parley.app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200);
      assert.match(String(r.headers['cache-control']), /immutable/);
      assert.match(String(r.headers['content-type']), url.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      gz += gzipSync(r.rawPayload).length;
    }
    assert.ok(gz < 150 * 1024, `page weighs ${gz} bytes gzipped`);
    // Nothing from elsewhere: no absolute URLs to load.
    assert.doesNotMatch(page.body, /(src|href)="(https?:)?\/\//);

    const missing = await s.parley.app.inject({ method: 'GET', url: '/web/app.000000000000.js' });
    assert.equal(missing.statusCode, 404);
    assert.equal((missing.json() as { error: { code: string } }).error.code, 'NOT_FOUND');
  });
});
