import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE, startTestServer, waitTerminal, type TestServer } from '../support/server.ts';

/** Percent-encodes, or sends a lone surrogate's raw bytes where encodeURIComponent refuses (also hostile). */
function enc(x: string): string {
  try {
    return encodeURIComponent(x);
  } catch {
    return '%ED%A0%80';
  }
}

/** A small seeded PRNG, so a failure reproduces. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const STRINGS = ['', ' ', 'a', '🙂', '\u0000', '\ud800', '"', '\\', '<script>', "' OR 1=1 --", 'conv_0000000000000000000000', 'x'.repeat(300), '-', '%', '../..', 'NaN', 'null'];

function value(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 2 ? 6 : 9));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return [0, -1, 1e308, -1e-308, 2 ** 53 + 1, 1.5][Math.floor(r() * 6)];
    case 3:
    case 4:
    case 5: return STRINGS[Math.floor(r() * STRINGS.length)];
    case 6: return Array.from({ length: Math.floor(r() * 3) }, () => value(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (const key of ['input', 'text', 'title', 'archived', 'callback_id', 'additional_feedback', '__proto__', 'constructor'].filter(() => r() < 0.4)) o[key] = value(r, depth + 1);
      if (r() < 0.5) o['input'] = { text: value(r, depth + 1) };
      return o;
    }
  }
}

/** Random bodies, queries and ids at every endpoint: never a 5xx, always the envelope, nothing crashes. */
describe('fuzzed input', () => {
  let s: TestServer;
  let t: string;
  let conv: string;
  let resp: string;
  let msg: string;
  before(async () => {
    s = await startTestServer({ env: { RATE_LIMIT_MAX: '1000000' } });
    t = await s.token();
    conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id;
    resp = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'seed' } } })).json().response_id;
    const done = await waitTerminal(s, t, conv, resp);
    msg = (done['outputs'] as { type: string; message: { message_id: string } }[]).find((o) => o.type === 'MESSAGE')!.message.message_id;
  });
  after(() => s.close());

  it('600 random requests get a 2xx or a 4xx in the envelope', async () => {
    const r = rng(20261121);
    const pick = <T,>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
    const ids = () => pick([conv, 'conv_0000000000000000000000', enc(String(pick(STRINGS)) || 'x'), '-']);
    const targets: (() => [string, string])[] = [
      () => ['POST', `/conversations`],
      () => ['PATCH', `/conversations/${ids()}`],
      () => ['POST', `/conversations/${ids()}/responses`],
      () => ['POST', `/conversations/${ids()}/responses/stream`],
      () => ['POST', `/conversations/${conv}/responses/${pick([resp, 'resp_x'])}/messages/${pick([msg, 'msg_x'])}/feedback`],
      () => ['GET', `/conversations?${pick(['limit', 'cursor', 'archived'])}=${enc(JSON.stringify(value(r)) ?? "")}`],
      () => ['GET', `/conversations/${ids()}/messages?${pick(['limit', 'cursor'])}=${enc(JSON.stringify(value(r)) ?? "")}`],
      () => ['GET', `/conversations/${ids()}/events?${pick(['starting_after', 'ending_at', 'cursor', 'limit'])}=${enc(JSON.stringify(value(r)) ?? "")}`],
      () => ['GET', `/conversations/${conv}/responses/${pick([resp, enc(String(pick(STRINGS)) || 'x')])}`],
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 600; i++) {
      const [method, path] = pick(targets)();
      const raw = r() < 0.15;
      const body = method === 'GET' ? undefined : raw ? pick(['{', '[]', 'null', '"x"', '{"input":', '\u0000']) : JSON.stringify(value(r));
      const res = await s.parley.app.inject({
        method: method as 'GET',
        url: BASE + path,
        headers: { ...s.headers(t), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: body } : {}),
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      assert.ok(res.statusCode < 500, `${method} ${path} ${body?.slice(0, 80)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
      if (res.statusCode >= 400) {
        const e = res.json().error;
        assert.equal(typeof e.code, 'string', `${method} ${path}`);
        assert.equal(typeof e.message, 'string');
      }
    }
    assert.ok((statuses.get(400) ?? 0) > 0 && ((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) + (statuses.get(202) ?? 0)) > 0, JSON.stringify([...statuses]));
    // the seeded conversation still reads back whole
    const list = (await s.parley.app.inject({ method: 'GET', url: `${BASE}/conversations/${conv}/responses/${resp}/messages`, headers: s.headers(t) })).json();
    assert.deepEqual(list.messages.map((m: { actor: string }) => m.actor), ['ASSISTANT', 'USER']);
  });
});
