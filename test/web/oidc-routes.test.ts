import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.ts';

/** The OIDC routes' own checks; the whole flow against a real provider is in test/browser/oidc.test.ts. */
describe('OIDC sign-in routes', () => {
  let idp: Server;
  let issuer: string;
  let s: TestServer;
  let plain: TestServer;
  before(async () => {
    // Only the discovery document: enough to start a sign-in.
    idp = createServer((req, res) => {
      if (req.url !== '/.well-known/openid-configuration') return void res.writeHead(404).end();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` }));
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    const config = join(mkdtempSync(join(tmpdir(), 'parley-oidc-')), 'parley.config.json');
    writeFileSync(config, JSON.stringify({ auth: { oidc: { issuer, clientId: 'web' } } }));
    s = await startTestServer({ env: { PARLEY_CONFIG: config } });
    plain = await startTestServer();
  });
  after(async () => {
    await s.close();
    await plain.close();
    idp.close();
  });

  it('starts a code flow with S256 PKCE, state and nonce, kept in an HttpOnly cookie', async () => {
    const r = await s.parley.app.inject({ method: 'GET', url: '/auth/v1/oidc/login', headers: { host: 'chat.example:8080' } });
    assert.equal(r.statusCode, 302);
    const to = new URL(String(r.headers['location']));
    assert.equal(to.origin + to.pathname, `${issuer}/auth`);
    const q = Object.fromEntries(to.searchParams);
    assert.equal(q['response_type'], 'code');
    assert.equal(q['client_id'], 'web');
    assert.equal(q['redirect_uri'], 'http://chat.example:8080/auth/v1/oidc/callback');
    assert.equal(q['code_challenge_method'], 'S256');
    assert.match(q['code_challenge'] ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(q['state'] && q['nonce']);
    const cookie = String(r.headers['set-cookie']);
    assert.match(cookie, /^parley_oidc=[^;]+; Path=\/auth\/v1\/oidc; HttpOnly; SameSite=Lax; Max-Age=600$/);
    // The verifier stays on the server's side of the cookie seal: the challenge is its hash, not itself.
    assert.ok(!cookie.includes(q['code_challenge']!));

    // A callback with that cookie but another state is refused, and nothing is signed in.
    const value = cookie.split(';')[0]!;
    const cb = await s.parley.app.inject({ method: 'GET', url: `/auth/v1/oidc/callback?code=x&state=other`, headers: { cookie: value } });
    assert.equal(cb.statusCode, 302);
    assert.match(String(cb.headers['location']), /^\/#signin-failed=[0-9a-f-]{36}$/);
    const denied = await s.parley.app.inject({ method: 'GET', url: `/auth/v1/oidc/callback?error=access_denied&state=${q['state']}`, headers: { cookie: value } });
    assert.match(String(denied.headers['location']), /^\/#signin-failed=/);
  });

  it('the page offers the button only when OIDC is configured; without it there is no OIDC route', async () => {
    assert.match((await s.parley.app.inject({ method: 'GET', url: '/' })).body, /<meta name="parley-oidc" content="on">/);
    assert.match((await plain.parley.app.inject({ method: 'GET', url: '/' })).body, /<meta name="parley-oidc" content="off">/);
    const r = await plain.parley.app.inject({ method: 'GET', url: '/auth/v1/oidc/login' });
    assert.equal(r.statusCode, 404);
    assert.equal((r.json() as { error: { code: string } }).error.code, 'NOT_FOUND');
  });

  it('a bad auth.oidc stops the server with a message naming the field', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'parley-oidc-')), 'parley.config.json');
    writeFileSync(config, JSON.stringify({ auth: { oidc: { issuer: 'not a url', clientId: 'web' } } }));
    await assert.rejects(startTestServer({ env: { PARLEY_CONFIG: config } }), /auth\.oidc\.issuer/);
  });
});
