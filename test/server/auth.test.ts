import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT, exportSPKI, importPKCS8, exportPKCS8 } from 'jose';
import { BASE, TEST_SECRET, startTestServer, type TestServer } from '../support/server.ts';

describe('authentication and the token endpoint', () => {
  let s: TestServer;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const backend = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const hs = new TextEncoder().encode(TEST_SECRET);

  before(async () => {
    const dir = await import('node:fs').then((fs) => fs.mkdtempSync('/tmp/parley-auth-'));
    const cfg = `auth:
  publicKeys:
    - alg: RS256
      pem: |
${rsaPem.trim().split('\n').map((l) => '        ' + l).join('\n')}
  clients:
    - client_id: portal
      secret_hash: sha256:${createHash('sha256').update('portal-secret').digest('hex')}
      sub: svc-portal
      groups: [portal]
  backends:
    - issuer: hr-backend
      alg: ES256
      pem: |
${backend.publicKey.export({ type: 'spki', format: 'pem' }).toString().trim().split('\n').map((l) => '        ' + l).join('\n')}
`;
    (await import('node:fs')).writeFileSync(`${dir}/parley.yaml`, cfg);
    s = await startTestServer({ env: { PARLEY_CONFIG: `${dir}/parley.yaml` } });
  });
  after(() => s.close());

  const list = (headers: Record<string, string>) => s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers });
  const hsToken = (claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: number } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u-auth')
      .setIssuer(opts.iss ?? 'parley')
      .setAudience(opts.aud ?? 'parley')
      .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 300)
      .sign(hs);

  it('accepts a valid HS256 token', async () => {
    const r = await list(s.headers(await hsToken({})));
    assert.equal(r.statusCode, 200);
    assert.ok(r.headers['ratelimit-limit'] && r.headers['ratelimit-remaining'] !== undefined && r.headers['ratelimit-reset'] !== undefined);
  });

  it('takes the Bearer scheme in any case (RFC 9110)', async () => {
    const token = await hsToken({});
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const r = await list({ ...s.headers(token), authorization: `${scheme} ${token}` });
      assert.equal(r.statusCode, 200, scheme);
    }
  });

  it('answers 401 for every bad token', async () => {
    const rsaKey = await importPKCS8(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
    const [h, p] = (await hsToken({})).split('.');
    const cases: [string, string | undefined][] = [
      ['no header', undefined],
      ['not bearer', 'Basic abc'],
      ['malformed', 'Bearer not-a-jwt'],
      ['bad signature', `Bearer ${h}.${p}.AAAA`],
      ['alg none', `Bearer ${new UnsecuredJWT({ sub: 'u' }).setIssuer('parley').setAudience('parley').setExpirationTime('5m').encode()}`],
      // HS/RS confusion: an HS256 token signed with the RSA public key's PEM text as the secret
      [
        'HS/RS confusion',
        `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setIssuer('parley').setAudience('parley').setExpirationTime('5m').sign(new TextEncoder().encode(rsaPem))}`,
      ],
      ['expired', `Bearer ${await hsToken({}, { exp: Math.floor(Date.now() / 1000) - 120 })}`],
      ['wrong iss', `Bearer ${await hsToken({}, { iss: 'evil' })}`],
      ['wrong aud', `Bearer ${await hsToken({}, { aud: 'other' })}`],
      ['unknown RS key', `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject('u').setIssuer('parley').setAudience('parley').setExpirationTime('5m').sign(await importPKCS8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256'))}`],
    ];
    for (const [name, auth] of cases) {
      const headers: Record<string, string> = { 'assistant-name': 'acmecorp-conversations-rest-api' };
      if (auth) headers['authorization'] = auth;
      const r = await list(headers);
      assert.equal(r.statusCode, 401, name);
      assert.equal(r.json().error.code, 'UNAUTHORIZED', name);
      assert.ok(r.headers['x-moveworks-root-uuid'], name);
    }
    // within the 60 s skew an expired token still works
    assert.equal((await list(s.headers(await hsToken({}, { exp: Math.floor(Date.now() / 1000) - 30 })))).statusCode, 200);
    // a configured RS256 key is accepted
    const rs = await new SignJWT({ email: 'x@acme.example' }).setProtectedHeader({ alg: 'RS256' }).setSubject('idp-user').setIssuer('parley').setAudience('parley').setExpirationTime('5m').sign(rsaKey);
    assert.equal((await list(s.headers(rs))).statusCode, 200);
  });

  it('answers 403 for a missing or unknown assistant', async () => {
    const t = await hsToken({});
    const none = await list({ authorization: `Bearer ${t}` });
    assert.equal(none.statusCode, 403);
    assert.equal(none.json().error.code, 'FORBIDDEN');
    const unknown = await list({ authorization: `Bearer ${t}`, 'assistant-name': 'someone-else' });
    assert.equal(unknown.statusCode, 403);
  });

  it('issues tokens for client_credentials (form and JSON) and rejects bad clients', async () => {
    const form = await s.parley.app.inject({
      method: 'POST',
      url: '/oauth/v1/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials&client_id=portal&client_secret=portal-secret',
    });
    assert.equal(form.statusCode, 200);
    const body = form.json();
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    const ok = await list(s.headers(body.access_token));
    assert.equal(ok.statusCode, 200);
    const basic = await s.parley.app.inject({
      method: 'POST',
      url: '/oauth/v1/token',
      headers: { authorization: 'Basic ' + Buffer.from('portal:portal-secret').toString('base64') },
      payload: { grant_type: 'client_credentials' },
    });
    assert.equal(basic.statusCode, 200);
    const bad = await s.parley.app.inject({ method: 'POST', url: '/oauth/v1/token', payload: { grant_type: 'client_credentials', client_id: 'portal', client_secret: 'nope' } });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().error, 'invalid_client');
    const grant = await s.parley.app.inject({ method: 'POST', url: '/oauth/v1/token', payload: { grant_type: 'password' } });
    assert.equal(grant.statusCode, 400);
    assert.equal(grant.json().error, 'unsupported_grant_type');
    assert.equal(typeof grant.json().error_description, 'string');
  });

  it('exchanges a backend-signed jwt-bearer assertion for a user token', async () => {
    const key = await importPKCS8(backend.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES256');
    const assertion = await new SignJWT({ email: 'maya@acme.example', groups: ['hr'] })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('maya@acme.example')
      .setIssuer('hr-backend')
      .setAudience('parley')
      .setIssuedAt()
      .setJti(`jti-${Date.now()}-${Math.random()}`)
      .setExpirationTime('5m')
      .sign(key);
    const r = await s.parley.app.inject({
      method: 'POST',
      url: '/oauth/v1/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer')}&assertion=${assertion}`,
    });
    assert.equal(r.statusCode, 200);
    const conv = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(r.json().access_token), payload: {} });
    assert.equal(conv.statusCode, 201);
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('ceo').setIssuer('hr-backend').setAudience('parley').setIssuedAt().setJti('forged-1').setExpirationTime('5m')
      .sign(await importPKCS8(await exportPKCS8(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), 'ES256'));
    const no = await s.parley.app.inject({ method: 'POST', url: '/oauth/v1/token', payload: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: forged } });
    assert.equal(no.statusCode, 400);
    assert.equal(no.json().error, 'invalid_grant');
    void exportSPKI;
  });
});
