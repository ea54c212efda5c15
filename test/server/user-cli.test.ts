import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { signUserToken } from '../../src/core/tokens.ts';
import { createParley } from '../../src/main.ts';
import { uniq } from '../support/db.ts';
import { ScriptedEngine } from '../support/scripted-engine.ts';
import { ASSISTANT, BASE, TEST_SECRET, waitTerminal } from '../support/server.ts';

const ROOT = join(import.meta.dirname, '../..');

/** `parley user export|delete` as an operator runs them: the real CLI, on the database a server used. */
describe('parley user export | delete', () => {
  it('exports a person\'s conversations, messages and feedback as JSON, and deletes them only with --yes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-user-'));
    const url = process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'];
    const env: Record<string, string> = { PARLEY_DATA_DIR: dataDir, PARLEY_DEMO_DATA: 'false', PARLEY_JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', ...(url ? { DATABASE_URL: url } : {}) };
    const email = `${uniq('leaver')}@example.test`;
    // A server (embedded database in its data dir, or PostgreSQL) where the person asked something and rated it.
    const parley = await createParley(loadConfig(env), { engine: new ScriptedEngine(), logger: pino({ level: 'silent' }) });
    let conv: string;
    try {
      await parley.app.ready();
      const token = await signUserToken({ hsKey: new TextEncoder().encode(TEST_SECRET), issuer: 'parley', audience: 'parley' }, { sub: email, email }, 600);
      const s = { parley, headers: (t: string) => ({ authorization: `Bearer ${t}`, 'assistant-name': ASSISTANT }) } as unknown as Parameters<typeof waitTerminal>[0];
      conv = (await parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(token), payload: { title: 'Leaving' } })).json().conversation_id;
      const resp = (await parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(token), payload: { input: { text: 'my last question' } } })).json()
        .response_id as string;
      const answer = await waitTerminal(s, token, conv, resp);
      const msg = (answer['outputs'] as { type: string; message: { message_id: string; feedback: { helpful: { callback_id: string } } } }[]).find((o) => o.type === 'MESSAGE')!.message;
      const fb = await parley.app.inject({
        method: 'POST',
        url: `${BASE}/conversations/${conv}/responses/${resp}/messages/${msg.message_id}/feedback`,
        headers: s.headers(token),
        payload: { callback_id: msg.feedback.helpful.callback_id, additional_feedback: 'thanks' },
      });
      assert.equal(fb.statusCode, 200);
      // A plugin call made for them (the audit row holds their inputs).
      await parley.deps.db.query(
        `INSERT INTO plugin_calls (id, assistant, user_id, conversation_id, plugin, inputs, status, created_at) VALUES ($1, $2, $3, $4, 'lookup', $5::jsonb, 'SUCCEEDED', now())`,
        [`call_${uniq('x').replace(/[^0-9A-Za-z]/g, '').padEnd(22, '0').slice(0, 22)}`, ASSISTANT, email, conv, JSON.stringify({ email })],
      );
    } finally {
      await parley.close();
    }

    const cli = (args: string[]) => spawnSync(process.execPath, ['bin/parley.mjs', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
    const exported = cli(['user', 'export', email.toUpperCase()]);
    assert.equal(exported.status, 0, exported.stderr);
    const data = JSON.parse(exported.stdout);
    assert.deepEqual(data.user_ids, [email]);
    assert.equal(data.conversations.length, 1);
    assert.equal(data.conversations[0].conversation_id, conv);
    assert.equal(data.conversations[0].title, 'Leaving');
    assert.deepEqual(data.conversations[0].messages.map((m: { actor: string }) => m.actor), ['USER', 'ASSISTANT']);
    assert.equal(data.conversations[0].messages[0].content.plain_text?.text ?? data.conversations[0].messages[0].content.commonmark_text?.text, 'my last question');
    assert.equal(data.feedback.length, 1);
    assert.equal(data.feedback[0].comment, 'thanks');
    assert.deepEqual(data.plugin_calls.map((c: { plugin: string; conversation_id: string }) => [c.plugin, c.conversation_id]), [['lookup', conv]]);

    const dry = cli(['user', 'delete', email]);
    assert.equal(dry.status, 1, 'without --yes nothing is deleted');
    assert.match(dry.stdout, /"conversations":1/);
    assert.equal(JSON.parse(cli(['user', 'export', email]).stdout).conversations.length, 1);

    const done = cli(['user', 'delete', email, '--yes']);
    assert.equal(done.status, 0, done.stderr);
    assert.equal(JSON.parse(done.stdout).deleted.conversations, 1);
    assert.equal(JSON.parse(done.stdout).deleted.plugin_calls, 1);
    const after = JSON.parse(cli(['user', 'export', email]).stdout);
    assert.deepEqual([after.conversations.length, after.feedback.length, after.plugin_calls.length], [0, 0, 0]);
    assert.notEqual(cli(['user', 'export', 'not-an-email']).status, 0);
  });
});
