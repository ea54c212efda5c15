/** The data the server benchmark reads and writes, prepared through Parley's own API before measuring. */
import type { RawRoute } from './child.ts';
import type { DatabaseResult } from './server.ts';

export const ASSISTANT = 'acmecorp-conversations-rest-api';
export const API = '/rest/v1beta1';
export const USER = { sub: 'liam.fitzgerald@acme.example', email: 'liam.fitzgerald@acme.example', name: 'Liam Fitzgerald', groups: ['employees', 'engineering'] };
export const QUESTION = 'How do I reset my VPN password?';
const HISTORY = [
  QUESTION,
  'What is the PTO policy?',
  'How do I book a meeting room?',
  'What is the per diem for international travel?',
  'Who does Maya Chen report to?',
  'How do I set up MFA on my phone?',
  'How long is parental leave?',
  'How do I submit an expense report?',
  'Where is the lost and found?',
  'When is open enrollment for benefits?',
];

type Json = Record<string, unknown>;

export class Api {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: Json }> {
    const res = await fetch(this.base + API + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'assistant-name': ASSISTANT, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: Json = {};
    try {
      json = JSON.parse(text) as Json;
    } catch {
      // SSE or empty
    }
    return { status: res.status, text, json };
  }

  async conversation(): Promise<string> {
    const r = await this.call('POST', '/conversations', {});
    if (r.status !== 201) throw new Error(`create conversation: ${r.status} ${r.text}`);
    return r.json['conversation_id'] as string;
  }

  /** Asks and waits until the answer is final; returns the create body and the final GET body. */
  async ask(conv: string, text: string): Promise<{ created: string; responseId: string; final: string }> {
    const c = await this.call('POST', `/conversations/${conv}/responses`, { input: { text } });
    if (c.status !== 202) throw new Error(`create response: ${c.status} ${c.text}`);
    const id = c.json['response_id'] as string;
    const until = Date.now() + 120_000;
    for (;;) {
      const g = await this.call('GET', `/conversations/${conv}/responses/${id}`);
      const status = g.json['status'];
      if (status === 'COMPLETED') return { created: c.text, responseId: id, final: g.text };
      if (status === 'FAILED') throw new Error(`response failed: ${g.text}`);
      if (Date.now() > until) throw new Error(`response ${id} still ${String(status)} after 120 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export interface Fixture {
  routes: RawRoute[];
  getPath: string;
  listPath: string;
  createConvs: string[];
  streamConvs: string[][];
  summary: DatabaseResult['fixture'];
}

/** The data every scenario reads: a cited answer, a conversation of 20 messages, conversations to write to. */
export async function prepare(api: Api, o: { connections: number; streams: number; log: (line: string) => void }): Promise<Fixture> {
  const convR = await api.conversation();
  const asked = await api.ask(convR, QUESTION);
  const final = JSON.parse(asked.final) as { outputs: { type: string; message?: { citations?: unknown[] } }[] };
  const citations = final.outputs.filter((x) => x.type === 'MESSAGE').reduce((n, x) => n + (x.message?.citations?.length ?? 0), 0);
  if (citations === 0) o.log(`  note: the benchmark answer has no citations: ${asked.final.slice(0, 300)}`);

  const convL = await api.conversation();
  for (const q of HISTORY) await api.ask(convL, q);
  const listPath = `/conversations/${convL}/messages`;
  const list = await api.call('GET', listPath);
  const listMessages = (list.json['messages'] as unknown[]).length;

  const convS = await api.conversation();
  const sse = await api.call('POST', `/conversations/${convS}/responses/stream`, { input: { text: QUESTION } }, { accept: 'text/event-stream' });
  if (sse.status !== 200) throw new Error(`stream: ${sse.status} ${sse.text}`);

  const createConvs: string[] = [];
  for (let i = 0; i < o.connections; i++) createConvs.push(await api.conversation());
  // Each stream client rotates over a few conversations, so no conversation's history grows long.
  const streamConvs: string[][] = [];
  for (let i = 0; i < o.streams; i++) streamConvs.push([await api.conversation(), await api.conversation(), await api.conversation()]);

  const routes: RawRoute[] = [
    { method: 'GET', pattern: '/responses/[^/?]+$', status: 200, contentType: 'application/json; charset=utf-8', body: asked.final },
    { method: 'GET', pattern: '/messages(\\?.*)?$', status: 200, contentType: 'application/json; charset=utf-8', body: list.text },
    { method: 'POST', pattern: '/responses$', status: 202, contentType: 'application/json; charset=utf-8', body: asked.created },
    { method: 'POST', pattern: '/responses/stream$', status: 200, contentType: 'text/event-stream; charset=utf-8', body: sse.text },
  ];
  return {
    routes,
    getPath: `/conversations/${convR}/responses/${asked.responseId}`,
    listPath,
    createConvs,
    streamConvs,
    summary: {
      getBytes: Buffer.byteLength(asked.final),
      citations,
      listBytes: Buffer.byteLength(list.text),
      listMessages,
      streamEvents: sse.text.split('\n\n').filter((b) => b.startsWith('id:')).length,
    },
  };
}

