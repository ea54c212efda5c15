// The token endpoint under attack: weak and malformed credentials, floods, replayed assertions and backends
// that try to grant more than they may.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, importPKCS8, SignJWT } from 'jose';
import { pino } from 'pino';
import { claimAssertionJti } from '../../src/core/assertion-replay.ts';
import { hashClientSecret, verifyClientSecret } from '../../src/core/client-secrets.ts';
import { testDb, uniq } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Token requests per window per client and per address on the server under test. */
const LIMIT = 8;
const indent = (pem: string) => pem.trim().split('\n').map((l) => '        ' + l).join('\n');

describe('token endpoint hardening', () => {
  let s: TestServer;
  let other: TestServer;
  let cfgPath: string;
  const lines: Record<string, unknown>[] = [];
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const narrow = uniq('narrow-backend');
  const wide = uniq('wide-backend');
  const root = uniq('root-backend');
  const trusting = uniq('trusting-backend');

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-oauth-'));
    cfgPath = join(dir, 'parley.yaml');
    writeFileSync(
      cfgPath,
      `auth:
  clients:
    - client_id: modern
      secret_hash: ${await hashClientSecret('modern-secret')}
      groups: [portal]
    - client_id: legacy
      secret_hash: sha256:${createHash('sha256').update('legacy-secret').digest('hex')}
    - client_id: flood
      secret_hash: ${await hashClientSecret('flood-secret')}
  backends:
    - issuer: ${narrow}
      alg: ES256
      allowGroups: [hr]
      pem: |
${indent(pem)}
    - issuer: ${wide}
      alg: ES256
      allowGroups: ['*']
      pem: |
${indent(pem)}
    - issuer: ${root}
      alg: ES256
      allowGroups: [parley-admins]
      pem: |
${indent(pem)}
    - issuer: ${trusting}
      alg: ES256
      trustEmail: true
      pem: |
${indent(pem)}
`,
    );
    const sink = { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) };
    s = await startTestServer({ env: { PARLEY_CONFIG: cfgPath, RATE_LIMIT_TOKEN_MAX: String(LIMIT) }, logger: pino({ level: 'info' }, sink) });
    other = await startTestServer({ env: { PARLEY_CONFIG: cfgPath } });
  });
  after(async () => {
    await s.close();
    await other.close();
  });

  let addr = 0;
  /** A fresh client address per call unless given: each test stays clear of the per-address budget. */
  const post = (payload: Record<string, unknown>, opts: { headers?: Record<string, string>; ip?: string; server?: TestServer } = {}) =>
    (opts.server ?? s).parley.app.inject({
      method: 'POST',
      url: '/oauth/v1/token',
      headers: opts.headers ?? {},
      payload,
      remoteAddress: opts.ip ?? `10.9.${Math.floor(++addr / 250)}.${addr % 250}`,
    });
  const assertion = async (iss: string, claims: Record<string, unknown>, opts: { jti?: string | null; sub?: string } = {}) => {
    const key = await importPKCS8(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES256');
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setSubject(opts.sub ?? 'maya').setIssuer(iss).setAudience('parley').setIssuedAt().setExpirationTime('5m');
    if (opts.jti !== null) jwt.setJti(opts.jti ?? randomUUID());
    return jwt.sign(key);
  };

  it('checks scrypt secrets, and still accepts a legacy sha256 hash with a warning', async () => {
    const ok = await post({ grant_type: 'client_credentials', client_id: 'modern', client_secret: 'modern-secret' });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(decodeJwt(ok.json().access_token)['groups'], ['portal']);
    const wrong = await post({ grant_type: 'client_credentials', client_id: 'modern', client_secret: 'modern-secreT' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error, 'invalid_client');
    const unknown = await post({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' });
    assert.equal(unknown.statusCode, 401);

    const legacy = await post({ grant_type: 'client_credentials', client_id: 'legacy', client_secret: 'legacy-secret' });
    assert.equal(legacy.statusCode, 200);
    assert.ok(lines.some((l) => l['client'] === 'legacy' && /unsalted sha256/.test(String(l['msg']))), 'a warning names the weak client');

    const h = await hashClientSecret('s3cret');
    assert.match(h, /^scrypt:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]{43}$/);
    assert.notEqual(h, await hashClientSecret('s3cret'), 'salted');
    assert.deepEqual(await verifyClientSecret('s3cret', h), { ok: true, weak: false });
    assert.deepEqual(await verifyClientSecret('s3cret', 'scrypt:garbage'), { ok: false, weak: false });
  });

  it('answers malformed Basic credentials with 401 invalid_client in OAuth shape, never 500', async () => {
    const b64 = (t: string) => Buffer.from(t, 'utf8').toString('base64');
    const cases = ['Basic', 'Basic !!!!', `Basic ${b64('no-colon')}`, `Basic ${b64('%E0%A4%A:secret')}`, `Basic ${b64('modern:%')}`, `Basic ${b64('a\u0000b:c')}`];
    for (const authorization of cases) {
      const r = await post({ grant_type: 'client_credentials' }, { headers: { authorization } });
      assert.equal(r.statusCode, 401, authorization);
      assert.equal(r.json().error, 'invalid_client', authorization);
      assert.equal(typeof r.json().error_description, 'string');
    }
    const good = await post({ grant_type: 'client_credentials' }, { headers: { authorization: `Basic ${b64('modern:modern-secret')}` } });
    assert.equal(good.statusCode, 200);
    const nul = await post({ grant_type: 'client_credentials', client_id: 'modern\u0000', client_secret: 'x' });
    assert.equal(nul.statusCode, 400);
    assert.equal(nul.json().error, 'invalid_request');
  });

  it('rate limits per client (across addresses) and per address (across clients)', async () => {
    const creds = { grant_type: 'client_credentials', client_id: 'flood', client_secret: 'wrong' };
    for (let i = 0; i < LIMIT; i++) assert.equal((await post(creds)).statusCode, 401);
    const limited = await post(creds);
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error, 'temporarily_unavailable');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    // The right secret does not get through the spent client budget either.
    assert.equal((await post({ ...creds, client_secret: 'flood-secret' })).statusCode, 429);

    const ip = '10.200.0.1';
    for (let i = 0; i < LIMIT; i++) assert.equal((await post({ grant_type: 'client_credentials', client_id: uniq('guess'), client_secret: 'x' }, { ip })).statusCode, 401);
    const byAddress = await post({ grant_type: 'client_credentials', client_id: 'modern', client_secret: 'modern-secret' }, { ip });
    assert.equal(byAddress.statusCode, 429);
    assert.equal(byAddress.json().error, 'temporarily_unavailable');
  });

  it('jwt-bearer grants only the groups the backend may grant; admin only when listed by name', async () => {
    const groupsOf = async (iss: string, groups: string[]) => {
      const r = await post({ grant_type: JWT_BEARER, assertion: await assertion(iss, { groups }) });
      assert.equal(r.statusCode, 200, r.body);
      return decodeJwt(r.json().access_token)['groups'] ?? [];
    };
    assert.deepEqual(await groupsOf(narrow, ['hr', 'finance', 'parley-admins']), ['hr']);
    assert.deepEqual(await groupsOf(wide, ['hr', 'finance', 'parley-admins']), ['hr', 'finance'], '* is any group but admin');
    assert.deepEqual(await groupsOf(root, ['hr', 'parley-admins']), ['parley-admins']);
    assert.deepEqual(await groupsOf(trusting, ['hr']), [], 'no allowGroups: no groups');
  });

  it('jwt-bearer vouches for the email only for a backend trusted for email', async () => {
    const issued = async (iss: string) => {
      const r = await post({ grant_type: JWT_BEARER, assertion: await assertion(iss, { email: 'maya@acme.example', email_verified: true }) });
      assert.equal(r.statusCode, 200, r.body);
      return decodeJwt(r.json().access_token);
    };
    assert.equal((await issued(narrow))['email_verified'], false);
    assert.equal((await issued(trusting))['email_verified'], true);
  });

  it('refuses a replayed assertion, on this node and on another; refuses one without jti', async () => {
    const a = await assertion(narrow, {}, { jti: uniq('jti') });
    assert.equal((await post({ grant_type: JWT_BEARER, assertion: a })).statusCode, 200);
    const again = await post({ grant_type: JWT_BEARER, assertion: a });
    assert.equal(again.statusCode, 400);
    assert.equal(again.json().error, 'invalid_grant');
    assert.match(again.json().error_description, /already used/);
    const elsewhere = await post({ grant_type: JWT_BEARER, assertion: a }, { server: other });
    assert.equal(elsewhere.statusCode, 400, 'the seen jti is in the database, shared by every node');
    // The same jti from another backend is another assertion.
    assert.equal((await post({ grant_type: JWT_BEARER, assertion: await assertion(wide, {}, { jti: decodeJwt(a).jti as string }) })).statusCode, 200);

    const noJti = await post({ grant_type: JWT_BEARER, assertion: await assertion(narrow, {}, { jti: null }) });
    assert.equal(noJti.statusCode, 400);
    assert.equal(noJti.json().error, 'invalid_grant');
    const nulSub = await post({ grant_type: JWT_BEARER, assertion: await assertion(narrow, {}, { sub: 'ma\u0000ya' }) });
    assert.equal(nulSub.statusCode, 400);
    assert.equal(nulSub.json().error, 'invalid_grant');
  });

  it('forgets a jti once its assertion has expired', async () => {
    const db = await testDb();
    const iss = uniq('iss');
    assert.equal(await claimAssertionJti(db, iss, 'j1', new Date(Date.now() - 1000)), true);
    // Expired: the next claim of the same jti succeeds (and the stale row was cleaned up or renewed).
    assert.equal(await claimAssertionJti(db, iss, 'j1', new Date(Date.now() + 60000)), true);
    assert.equal(await claimAssertionJti(db, iss, 'j1', new Date(Date.now() + 60000)), false);
    await claimAssertionJti(db, iss, 'j2', new Date(Date.now() - 1000));
    await claimAssertionJti(db, iss, 'j3', new Date(Date.now() + 60000));
    const left = await db.query<{ jti: string }>('SELECT jti FROM oauth_assertion_jtis WHERE issuer = $1 ORDER BY jti', [iss]);
    assert.deepEqual(left.map((r) => r.jti), ['j1', 'j3'], 'expired rows are deleted');
  });
});
