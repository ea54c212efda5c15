import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ParleyClient } from '../../src/client/index.ts';
import { mintSigninCode, SIGNIN_LINK_TTL_SECONDS } from '../../src/core/signin-links.ts';
import { uniq } from '../support/db.ts';
import { ASSISTANT, BASE, startTestServer, TEST_SECRET, type TestServer } from '../support/server.ts';

const ROOT = join(import.meta.dirname, '../..');
const KEY = new TextEncoder().encode(TEST_SECRET);

/** Runs the real CLI as a user would, with the test server's secret. */
function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['bin/parley.mjs', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PARLEY_JWT_SECRET: TEST_SECRET, PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-cli-')), LOG_LEVEL: 'silent', ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('sign-in links', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const redeem = (code: string) => s.parley.app.inject({ method: 'POST', url: '/auth/v1/signin-link', payload: { code } });

  it('`parley token --link` prints a one-time URL as its last line; the page trades its code for a session once', async () => {
    const user = `${uniq('link')}@acme.example`;
    const run = cli(['token', '--user', user.toUpperCase(), '--groups', 'hr,managers', '--link', '--url', 'http://127.0.0.1:4321/']);
    assert.equal(run.status, 0, run.stderr);
    const last = run.stdout.trim().split('\n').at(-1)!;
    const m = /^http:\/\/127\.0\.0\.1:4321\/#signin=([A-Za-z0-9_\-.]+)$/.exec(last);
    assert.ok(m, `last line is the link: ${last}`);

    const first = await redeem(m[1]!);
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['cache-control'], 'no-store');
    const body = first.json() as { access_token: string; token_type: string; expires_in: number; user: { id: string; email: string } };
    assert.equal(body.token_type, 'Bearer');
    assert.deepEqual(body.user, { id: user, email: user, name: null });
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString()) as { sub: string; groups: string[] };
    assert.equal(claims.sub, user);
    assert.deepEqual(claims.groups, ['hr', 'managers']);
    // The session works on the API.
    const list = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: s.headers(body.access_token) });
    assert.equal(list.statusCode, 200);

    // Used once: a second exchange of the same link is refused in the envelope.
    const again = await redeem(m[1]!);
    assert.equal(again.statusCode, 400);
    assert.equal((again.json() as { error: { code: string } }).error.code, 'INVALID_REQUEST');
    assert.ok(again.headers['x-moveworks-root-uuid']);
  });

  it('without --url the link names the configured address', () => {
    const run = cli(['token', '--user', 'maya.chen@acme.example', '--link'], { HOST: '0.0.0.0', PORT: '18765' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout.trim().split('\n').at(-1)!, /^http:\/\/127\.0\.0\.1:18765\/#signin=\S+$/);
  });

  it('refuses forged, tampered, expired and concurrently reused codes', async () => {
    const user = { sub: uniq('u'), groups: [] };
    const forged = mintSigninCode(new TextEncoder().encode('another-secret-0123456789-abcdefghijklmnop'), user);
    assert.equal((await redeem(forged)).statusCode, 400);
    const good = mintSigninCode(KEY, user);
    const [body, mac] = good.split('.');
    const tampered = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), groups: ['parley-admins'] })).toString('base64url')}.${mac}`;
    assert.equal((await redeem(tampered)).statusCode, 400);
    const expired = mintSigninCode(KEY, user, Date.now() - (SIGNIN_LINK_TTL_SECONDS + 1) * 1000);
    assert.equal((await redeem(expired)).statusCode, 400);
    assert.equal((await redeem('')).statusCode, 400);
    assert.equal((await redeem('x'.repeat(5000))).statusCode, 400);
    // Two tabs opening the same link at once: exactly one signs in.
    const race = await Promise.all([redeem(good), redeem(good), redeem(good)]);
    assert.deepEqual(race.map((r) => r.statusCode).sort(), [200, 400, 400]);
  });

  it('a code is no bearer, and no endpoint takes a token in the URL', async () => {
    const code = mintSigninCode(KEY, { sub: uniq('u'), groups: [] });
    const asBearer = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: s.headers(code) });
    assert.equal(asBearer.statusCode, 401);
    const token = await s.token();
    for (const q of ['access_token', 'token', 'bearer', 'signin']) {
      const r = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations?${q}=${token}`, headers: { 'assistant-name': ASSISTANT } });
      assert.equal(r.statusCode, 401, `?${q}= is not accepted`);
    }
    const page = await s.parley.app.inject({ method: 'GET', url: `/?access_token=${token}` });
    assert.equal(page.statusCode, 200, 'the page itself is public');
    assert.doesNotMatch(page.body, new RegExp(token.slice(-20)), 'and echoes nothing of the URL');
    // The client never puts one in a URL either.
    const urls: string[] = [];
    const c = new ParleyClient({ baseUrl: 'http://127.0.0.1:1', token, assistant: ASSISTANT, maxRetries: 0, fetch: async (u) => (urls.push(String(u)), new Response('{}', { status: 404 })) });
    await c.getConversation('conv_x').catch(() => undefined);
    assert.ok(urls.every((u) => !u.includes(token)));
  });
});
