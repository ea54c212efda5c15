import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Engine } from '../../src/assistant/engine.ts';
import { loadConfig } from '../../src/config.ts';
import { signUserToken } from '../../src/core/tokens.ts';
import { createParley, type Parley } from '../../src/main.ts';
import { testDb, uniq } from './db.ts';
import { ScriptedEngine } from './scripted-engine.ts';

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const ASSISTANT = 'acmecorp-conversations-rest-api';
export const BASE = '/rest/v1beta1';

export interface TestServer {
  parley: Parley;
  engine: Engine;
  /** A bearer for a fresh (or named) user. */
  token(user?: { sub?: string; email?: string; groups?: string[] }): Promise<string>;
  /** Headers for an API call as that bearer. */
  headers(token: string, extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/** A server on the shared test database with a scripted engine and a known HS256 secret. */
export async function startTestServer(
  opts: { engine?: Engine | 'configured'; env?: Record<string, string>; worker?: boolean; logger?: Logger; config?: Record<string, unknown> } = {},
): Promise<TestServer> {
  const db = await testDb();
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  const config = loadConfig({
    PARLEY_DATA_DIR: dataDir,
    PARLEY_DEMO_DATA: 'false',
    PARLEY_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'silent',
    ...opts.env,
  }, opts.config);
  // 'configured': the engine the configuration names (offline or a language model), as `npm start` would build.
  const scripted = opts.engine === 'configured' ? undefined : (opts.engine ?? new ScriptedEngine());
  const parley = await createParley(config, {
    db,
    migrated: true,
    ...(scripted ? { engine: scripted } : {}),
    logger: opts.logger ?? pino({ level: 'silent' }),
    ...(opts.worker === undefined ? {} : { worker: opts.worker }),
  });
  await parley.app.ready();
  return {
    parley,
    engine: scripted ?? parley.engine,
    token: (user = {}) =>
      signUserToken(
        { hsKey: new TextEncoder().encode(TEST_SECRET), issuer: 'parley', audience: 'parley' },
        { sub: user.sub ?? uniq('user'), email: user.email, groups: user.groups ?? [] },
        600,
      ),
    headers: (token, extra = {}) => ({ authorization: `Bearer ${token}`, 'assistant-name': ASSISTANT, ...extra }),
    close: () => parley.close(),
  };
}

/** Polls GET response until it is terminal (or fails the test after `ms`). */
export async function waitTerminal(s: TestServer, token: string, convId: string, respId: string, ms = 10000): Promise<Record<string, unknown>> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${convId}/responses/${respId}`, headers: s.headers(token) });
    const body = r.json() as Record<string, unknown>;
    if (body['status'] === 'COMPLETED' || body['status'] === 'FAILED') return body;
    if (Date.now() > until) throw new Error(`response ${respId} still ${String(body['status'])} after ${ms} ms`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Parses raw SSE text into frames, keeping comments, exactly as they came over the wire. */
export function parseSse(raw: string): { comments: string[]; events: { id?: string; event?: string; data?: string }[] } {
  const comments: string[] = [];
  const events: { id?: string; event?: string; data?: string }[] = [];
  for (const block of raw.split('\n\n')) {
    if (!block) continue;
    const ev: { id?: string; event?: string; data?: string } = {};
    let isEvent = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line);
      else {
        const i = line.indexOf(': ');
        const field = line.slice(0, i) as 'id' | 'event' | 'data';
        ev[field] = line.slice(i + 2);
        isEvent = true;
      }
    }
    if (isEvent) events.push(ev);
  }
  return { comments, events };
}
