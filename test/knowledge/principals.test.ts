import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { ADMINS_ONLY, AccessListError, parseAccessList, principalsOf } from '../../src/knowledge/principals.ts';
import { testDb, uniq } from '../support/db.ts';

describe('parseAccessList', () => {
  it('types every entry: plain names are groups, types and groups and emails lower-cased, subjects kept exact', () => {
    assert.deepEqual(parseAccessList(['HR', 'group:Managers', ' email:Bob@Example.test ', 'user:Sub-Case', 'Group: Finance']), [
      'email:bob@example.test',
      'group:finance',
      'group:hr',
      'group:managers',
      'user:Sub-Case',
    ]);
    assert.deepEqual(parseAccessList(['hr', 'group:hr', 'HR']), ['group:hr'], 'one spelling, de-duplicated');
    // A plain address is a group name too (groups are often mail addresses); an email principal says email:.
    assert.deepEqual(parseAccessList(['team@example.test']), ['group:team@example.test']);
  });

  it('keeps * (and its spellings everyone / all / public) as the whole list', () => {
    assert.deepEqual(parseAccessList(['*']), ['*']);
    assert.deepEqual(parseAccessList(['hr', 'Everyone']), ['*']);
    assert.deepEqual(parseAccessList(['public']), ['*']);
  });

  it('an empty or blank list means admins only, never public', () => {
    assert.deepEqual(parseAccessList([]), [ADMINS_ONLY]);
    assert.deepEqual(parseAccessList(['  ', '']), [ADMINS_ONLY]);
    assert.deepEqual(parseAccessList(['role:admin']), [ADMINS_ONLY]);
  });

  it('refuses malformed entries with a message saying how to write them', () => {
    const bad: [unknown, RegExp][] = [
      ['team:x', /unknown type "team".*group:<name>/],
      ['group:', /names no group/],
      ['user:  ', /names no subject/],
      ['email:not-an-address', /not an email address/],
      ['role:owner', /only role is role:admin/],
      ['two words', /no spaces/],
      ['hr\u0000', /control characters/],
      ['hr\ud800', /ill-formed Unicode/],
      ['x'.repeat(400), /longer than/],
      [null, /must be strings/],
      [{ group: 'hr' }, /must be strings/],
    ];
    for (const [entry, message] of bad) {
      assert.throws(() => parseAccessList([entry]), (err: unknown) => err instanceof AccessListError && message.test(err.message), String(entry));
    }
  });
});

describe('assistant allow lists in the configuration', () => {
  it('are parsed like access lists at start; a malformed entry stops the server naming the field', () => {
    const cfg = loadConfig({}, { assistants: [{ name: 'a' }, { name: 'b', allow: ['HR', 'user:Svc'] }, { name: 'c', allow: [] }] });
    assert.deepEqual(cfg.assistants.map((a) => a.allow), [['*'], ['group:hr', 'user:Svc'], [ADMINS_ONLY]]);
    assert.throws(
      () => loadConfig({}, { assistants: [{ name: 'a', allow: ['team:x'] }] }),
      (err: unknown) => err instanceof ConfigError && /assistants\.0\.allow: .*unknown type "team"/.test(err.message),
    );
    const backends = loadConfig({}, { auth: { backends: [{ issuer: 'b', alg: 'ES256', pem: 'x' }] } }).auth.backends;
    assert.deepEqual([backends[0]!.allowGroups, backends[0]!.trustEmail], [[], false], 'a backend grants no groups and vouches for no email by default');
  });
});

describe('principalsOf', () => {
  it('never mixes namespaces: a subject named like a group is only user:<sub>', () => {
    assert.deepEqual(principalsOf({ id: 'hr', groups: [] }), ['*', 'user:hr']);
    assert.deepEqual(principalsOf({ id: 'u', email: 'A@B.test', groups: [] }), ['*', 'user:u'], 'unverified email: no email principal');
    assert.deepEqual(principalsOf({ id: 'u', email: 'A@B.test', emailVerified: true, groups: ['HR'], admin: true }), [
      '*',
      'user:u',
      'email:a@b.test',
      'group:hr',
      ADMINS_ONLY,
    ]);
  });
});

describe('migration 010 (typed access lists)', () => {
  it('rewrites stored untyped lists to group: entries, keeps * and typed ones, and re-keys term statistics', async () => {
    const db = await testDb();
    const assistant = uniq('asst-mig');
    // Rows as an earlier version stored them (untyped), written directly.
    await db.query(
      `INSERT INTO kb_documents (id, assistant, root, path, format, url, title, access, content_hash)
       VALUES ($1 || '-a', $1, '/r', 'a.md', 'markdown', 'https://x.test/a', 'A', '{hr,grace@example.test}', 'h'),
              ($1 || '-b', $1, '/r', 'b.md', 'markdown', 'https://x.test/b', 'B', '{*,hr}', 'h'),
              ($1 || '-c', $1, '/r', 'c.md', 'markdown', 'https://x.test/c', 'C', '{group:hr,hr}', 'h')`,
      [assistant],
    );
    await db.query(
      `INSERT INTO kb_chunks (id, document_id, assistant, ord, title, heading, body, access)
       VALUES ($1 || '-a0', $1 || '-a', $1, 0, 'A', '', 'alpha', '{hr,grace@example.test}'),
              ($1 || '-c0', $1 || '-c', $1, 0, 'C', '', 'alpha', '{group:hr,hr}')`,
      [assistant],
    );
    await db.query(
      `INSERT INTO kb_term_sets (assistant, access, chunks) VALUES ($1, '{hr}', 2), ($1, '{group:hr}', 3), ($1, '{*}', 1)`,
      [assistant],
    );
    await db.query(`INSERT INTO kb_terms (assistant, access, lexeme, df) VALUES ($1, '{hr}', 'alpha', 2), ($1, '{group:hr}', 'alpha', 1)`, [
      assistant,
    ]);

    const sql = readFileSync(new URL('../../src/store/migrations/010_typed_principals.sql', import.meta.url), 'utf8');
    const statements = sql
      .split('\n')
      .filter((l) => !l.trim().startsWith('--'))
      .join('\n')
      .split(/;\s*\n/)
      .map((s) => s.trim())
      .filter(Boolean);
    // Run twice: the rewrite is idempotent on lists already typed (all other tests' rows).
    for (let i = 0; i < 2; i++) await db.tx(async (q) => {
      for (const st of statements) await q.query(st);
    });

    const docs = await db.query<{ path: string; access: string[] }>('SELECT path, access FROM kb_documents WHERE assistant = $1 ORDER BY path', [assistant]);
    assert.deepEqual(docs.map((d) => d.access), [['group:grace@example.test', 'group:hr'], ['*'], ['group:hr']]);
    const chunks = await db.query<{ access: string[] }>('SELECT access FROM kb_chunks WHERE assistant = $1 ORDER BY id', [assistant]);
    assert.deepEqual(chunks.map((c) => c.access), [['group:grace@example.test', 'group:hr'], ['group:hr']]);
    const sets = await db.query<{ access: string[]; chunks: number }>('SELECT access, chunks FROM kb_term_sets WHERE assistant = $1 ORDER BY chunks', [assistant]);
    assert.deepEqual(sets.map((r) => [r.access, r.chunks]), [[['*'], 1], [['group:hr'], 5]], 'merged where two lists became one');
    const terms = await db.query<{ access: string[]; df: number }>('SELECT access, df FROM kb_terms WHERE assistant = $1', [assistant]);
    assert.deepEqual(terms.map((r) => [r.access, r.df]), [[['group:hr'], 3]]);
    await db.query('DELETE FROM kb_documents WHERE assistant = $1', [assistant]);
    await db.query('DELETE FROM kb_term_sets WHERE assistant = $1', [assistant]);
    await db.query('DELETE FROM kb_terms WHERE assistant = $1', [assistant]);
  });
});
