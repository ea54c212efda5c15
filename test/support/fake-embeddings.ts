/**
 * A fake OpenAI-compatible embeddings endpoint: a real HTTP server on 127.0.0.1 answering `POST /v1/embeddings`
 * (`{model, input}`) with the real response shape (`{object: "list", data: [{object: "embedding", index,
 * embedding}], model, usage}`), data deliberately out of order. Vectors are deterministic: one dimension per
 * concept (so synonyms the full-text index cannot see end up close), then a few hashed word dimensions.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const CONCEPTS = [
  /\b(car|motorcar|automobile|vehicle|parking|garage)\b/i,
  /\b(holiday|vacation|leave|pto|time off)\b/i,
  /\b(laptop|computer|notebook)\b/i,
  /\b(lunch|meal|food|canteen)\b/i,
];
const HASHED = 8;

export function fakeVector(text: string): number[] {
  const v: number[] = CONCEPTS.map((re) => (re.test(text) ? 1 : 0));
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  const h = new Array<number>(HASHED).fill(0);
  for (const w of words) {
    let x = 0;
    for (const c of w) x = (x * 31 + c.charCodeAt(0)) >>> 0;
    h[x % HASHED]! += 0.05;
  }
  v.push(...h, 0.1); // never the zero vector
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

export interface FakeEmbeddings {
  baseUrl: string;
  requests: { model: string; input: string[]; auth: string | undefined }[];
  /** Inputs containing this text make the whole request fail with 500. */
  failOn: string | null;
  close(): Promise<void>;
}

export async function startFakeEmbeddings(): Promise<FakeEmbeddings> {
  const state: FakeEmbeddings = { baseUrl: '', requests: [], failOn: null, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
        return;
      }
      const parsed = JSON.parse(body) as { model: string; input: string | string[] };
      const input = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
      state.requests.push({ model: parsed.model, input, auth: req.headers.authorization });
      if (state.failOn !== null && input.some((t) => t.includes(state.failOn!))) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'fake failure', type: 'server_error' } }));
        return;
      }
      const data = input.map((t, index) => ({ object: 'embedding', index, embedding: fakeVector(t) })).reverse();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ object: 'list', data, model: parsed.model, usage: { prompt_tokens: input.length, total_tokens: input.length } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
