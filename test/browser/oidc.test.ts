import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Provider from 'oidc-provider';
import { uniq } from '../support/db.ts';
import { BASE, startTestServer, type TestServer } from '../support/server.ts';
import { launch, type Launched } from './browser.ts';

/**
 * Sign-in through a real OpenID Connect provider (npm `oidc-provider`, certified) started in-process: the
 * page's button, the provider's own login and consent pages, the code + PKCE exchange, back signed in with
 * the provider's identity and groups.
 */
describe('chat page sign-in through OpenID Connect', () => {
  let idpServer: Server;
  let s: TestServer;
  let chromium: Launched;
  let base: string;
  const login = `${uniq('olivia')}`;

  before(async () => {
    idpServer = createServer();
    await new Promise<void>((r) => idpServer.listen(0, '127.0.0.1', r));
    const issuer = `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}`;
    const config = join(mkdtempSync(join(tmpdir(), 'parley-oidc-')), 'parley.config.json');
    writeFileSync(config, JSON.stringify({ auth: { oidc: { issuer, clientId: 'parley-web', clientSecret: 'parley-web-secret-0123456789', groupsClaim: 'groups' } } }));
    s = await startTestServer({ env: { PARLEY_CONFIG: config } });
    await s.parley.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(s.parley.app.server.address() as AddressInfo).port}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'parley-web',
          client_secret: 'parley-web-secret-0123456789',
          redirect_uris: [`${base}/auth/v1/oidc/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
      conformIdTokenClaims: false,
      findAccount: (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: () => ({ sub: id, email: `${id}@idp.example`, email_verified: true, name: 'Olivia Idp', groups: ['hr', 'managers'] }),
      }),
    });
    idpServer.on('request', provider.callback());
    chromium = await launch();
  });
  after(async () => {
    await chromium?.close();
    await s?.close();
    idpServer?.close();
  });

  it('signs in with the provider and calls the API as that identity, with its groups', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(base);
    await page.getByRole('link', { name: 'Sign in with your company account' }).click();
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    await page.getByText('Olivia Idp').waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the one-time code is gone from the address bar');
    const session = JSON.parse((await page.evaluate('localStorage.getItem("parley.session")')) as string) as { token: string };
    const claims = JSON.parse(Buffer.from(session.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims['sub'], login);
    assert.equal(claims['email'], `${login}@idp.example`);
    assert.deepEqual(claims['groups'], ['hr', 'managers']);

    await page.getByRole('textbox', { name: 'Message' }).fill('hello from sso');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await page.locator('article.msg.assistant').last().getByRole('button', { name: 'Helpful', exact: true }).waitFor();
    const list = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: s.headers(session.token) });
    assert.deepEqual((list.json() as { conversations: { title: string }[] }).conversations.map((c) => c.title), ['hello from sso']);
  });

  it('refuses a callback it did not start (forged state), in plain words', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(`${base}/auth/v1/oidc/callback?code=stolen&state=forged`);
    await page.getByRole('alert').getByText(/Signing in with your company account did not work.*trace id [0-9a-f-]{36}/).waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'Message' }).count(), 0);
  });
});
