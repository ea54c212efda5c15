// Typed principals end to end (contract §8): real tokens, the real offline engine and real storage decide who
// sees which article and who may use which assistant.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { uniq } from '../support/db.ts';
import { BASE, TEST_SECRET, startTestServer, type TestServer } from '../support/server.ts';

const URL_OF = (slug: string) => `https://kb.example.test/${slug}`;
const HR_EMAIL = 'zoe.quill@example.test';

describe('typed principals, verified email and admin-only access lists', () => {
  let s: TestServer;
  const kb = uniq('asst-principals');
  const hrOnly = uniq('asst-hr');
  const adminsOnly = uniq('asst-admins');
  const hs = new TextEncoder().encode(TEST_SECRET);

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-principals-'));
    writeFileSync(
      join(dir, 'parley.yaml'),
      `assistants:
  - name: ${kb}
  - name: ${hrOnly}
    allow: [hr]
  - name: ${adminsOnly}
    allow: []
auth:
  acceptIssuers: [trusted-idp, other-idp]
  emailTrustedIssuers: [trusted-idp]
`,
    );
    s = await startTestServer({ engine: 'configured', env: { PARLEY_CONFIG: join(dir, 'parley.yaml') } });
    const admin = await s.token({ groups: ['parley-admins'] });
    const doc = (slug: string, title: string, body: string, access: string[]) => ({
      path: `${slug}.md`, format: 'markdown', title, url: URL_OF(slug), updatedAt: null, access, body,
    });
    const r = await s.parley.app.inject({
      method: 'POST',
      url: '/admin/v1/ingest',
      headers: { authorization: `Bearer ${admin}` },
      payload: {
        assistant: kb,
        root: '/principals',
        prune: false,
        documents: [
          doc('quorvex', 'Quorvex payroll bands', 'The quorvex payroll band L5 pays ninety thousand a year.', ['hr']),
          doc('blentish', 'Blentish locker code', `The blentish locker code is 4411.`, [`email:${HR_EMAIL}`]),
          doc('frimble', 'Frimble parking spot', 'The frimble parking spot is bay B7.', ['user:Sub-Case']),
          doc('drovian', 'Drovian vault procedure', 'The drovian vault opens with two keys.', []),
          doc('skellig', 'Skellig archive key', 'The skellig archive key hangs in room 12.', ['  ']),
          doc('typo', 'Typo list', 'Nobody should ever see the typo list.', ['team:x']),
        ],
        people: [
          { id: 'zq', name: 'Zoe Quill', email: HR_EMAIL, title: 'HR Partner', department: 'HR', location: '', phone: '', managerId: null, groups: ['hr'], url: null },
        ],
      },
    });
    assert.equal(r.statusCode, 200, r.body);
    const summary = r.json();
    assert.equal(summary.added, 5);
    assert.deepEqual(summary.errors.map((e: { path: string }) => e.path), ['typo.md']);
    assert.match(summary.errors[0].reason, /unknown type "team"/);
  });
  after(() => s.close());

  const token = (claims: Record<string, unknown>, sub: string, iss = 'parley') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer(iss).setAudience('parley').setExpirationTime('5m').sign(hs);
  const headers = (t: string, assistant = kb) => ({ authorization: `Bearer ${t}`, 'assistant-name': assistant });

  /** The URLs the final answer cites, asked as this token. */
  async function cited(t: string, question: string): Promise<string[]> {
    const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: headers(t), payload: {} })).json().conversation_id;
    const r = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: headers(t), payload: { input: { text: question } } });
    assert.equal(r.statusCode, 202, r.body);
    const done = await terminal(t, conv, r.json().response_id);
    const outputs = done['outputs'] as { type: string; message?: { citations: { url: string }[] } }[];
    return outputs.flatMap((o) => (o.type === 'MESSAGE' ? o.message!.citations.map((c) => c.url) : []));
  }
  async function terminal(t: string, conv: string, id: string): Promise<Record<string, unknown>> {
    for (const until = Date.now() + 20000; ; ) {
      const r = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/responses/${id}`, headers: headers(t) });
      const body = r.json() as Record<string, unknown>;
      if (body['status'] === 'COMPLETED' || body['status'] === 'FAILED') return body;
      if (Date.now() > until) throw new Error(`response ${id} still ${String(body['status'])}: ${r.body}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  const HR_Q = 'What are the quorvex payroll bands?';

  it('a subject is never a group: sub "hr" reads no HR-only article and cannot use an assistant allowing [hr]', async () => {
    const subHr = await token({}, 'hr');
    assert.ok(!(await cited(subHr, HR_Q)).includes(URL_OF('quorvex')));
    const r = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: headers(subHr, hrOnly) });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().error.code, 'FORBIDDEN');

    const member = await token({ groups: ['HR'] }, uniq('member'));
    assert.ok((await cited(member, HR_Q)).includes(URL_OF('quorvex')), 'a group member (any case) reads it');
    const ok = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: headers(member, hrOnly) });
    assert.equal(ok.statusCode, 200);
  });

  it('directory groups and email principals only for a verified email', async () => {
    // The audit's case: anyone can put an HR person's address in an unverified claim.
    const claimed = await token({ email: HR_EMAIL }, 'anyone');
    assert.ok(!(await cited(claimed, HR_Q)).includes(URL_OF('quorvex')), 'no directory groups from an unverified email');
    assert.ok(!(await cited(claimed, 'What is the blentish locker code?')).includes(URL_OF('blentish')), 'no email principal either');
    const flaggedFalse = await token({ email: HR_EMAIL, email_verified: false }, 'anyone');
    assert.ok(!(await cited(flaggedFalse, HR_Q)).includes(URL_OF('quorvex')));
    const otherIdp = await token({ email: HR_EMAIL }, 'anyone', 'other-idp');
    assert.ok(!(await cited(otherIdp, HR_Q)).includes(URL_OF('quorvex')), 'an accepted issuer is not thereby trusted for email');

    const verified = await token({ email: HR_EMAIL, email_verified: true }, uniq('zoe'));
    assert.ok((await cited(verified, HR_Q)).includes(URL_OF('quorvex')), 'verified: the directory says hr');
    assert.ok((await cited(verified, 'What is the blentish locker code?')).includes(URL_OF('blentish')), 'verified: email principal');
    const trusted = await token({ email: HR_EMAIL.toUpperCase() }, uniq('zoe'), 'trusted-idp');
    assert.ok((await cited(trusted, HR_Q)).includes(URL_OF('quorvex')), 'an issuer trusted for email needs no flag');
    const minted = await s.token({ sub: uniq('zoe'), email: HR_EMAIL });
    assert.ok((await cited(minted, HR_Q)).includes(URL_OF('quorvex')), 'a token Parley minted vouches for its email');
  });

  it('user: principals match the subject exactly, case included', async () => {
    assert.ok((await cited(await token({}, 'Sub-Case'), 'Where is the frimble parking spot?')).includes(URL_OF('frimble')));
    assert.ok(!(await cited(await token({}, 'sub-case'), 'Where is the frimble parking spot?')).includes(URL_OF('frimble')));
  });

  it('an empty or blank access list means nobody but admins, never public', async () => {
    const plain = await token({ groups: ['hr', 'employees'] }, uniq('user'));
    assert.ok(!(await cited(plain, 'How does the drovian vault open?')).includes(URL_OF('drovian')));
    assert.ok(!(await cited(plain, 'Where does the skellig archive key hang?')).includes(URL_OF('skellig')));
    const admin = await token({ groups: ['parley-admins'] }, uniq('admin'));
    assert.ok((await cited(admin, 'How does the drovian vault open?')).includes(URL_OF('drovian')));
    assert.ok((await cited(admin, 'Where does the skellig archive key hang?')).includes(URL_OF('skellig')));
    // Directory groups never make an admin.
    const r = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: headers(plain, adminsOnly) });
    assert.equal(r.statusCode, 403);
    const a = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: headers(admin, adminsOnly) });
    assert.equal(a.statusCode, 200);
  });
});
