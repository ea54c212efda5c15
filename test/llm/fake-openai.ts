/**
 * A fake OpenAI-compatible provider: a real HTTP server on 127.0.0.1 that answers
 * `POST /v1/chat/completions` with `stream: true` in the real wire format (chat.completion.chunk events,
 * tool-call deltas with arguments split across chunks, a usage chunk, `data: [DONE]`). Each test scripts
 * the turns it wants, in order, and reads back the requests the server received.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedToolCall {
  id?: string;
  name: string;
  /** The JSON arguments as the model would write them (may be deliberately malformed). */
  arguments: string;
  /** Number of chunks the arguments are split into. Default 3. */
  pieces?: number;
}

export type ScriptedTurn =
  /** Content deltas, then `finish_reason: "stop"`. */
  | { type: 'text'; chunks: string[]; delayMs?: number }
  /** Tool-call deltas (one or more calls), then `finish_reason: "tool_calls"`. */
  | { type: 'tool_calls'; calls: ScriptedToolCall[] }
  /** An HTTP error with an OpenAI error body. */
  | { type: 'http_error'; status: number; message: string }
  /** Some content deltas, then the socket is destroyed. */
  | { type: 'reset'; chunks: string[] }
  /** Headers (and the given content deltas, if any), then nothing, forever. */
  | { type: 'stall_after_headers'; chunks?: string[] }
  /** The request is read, then nothing is ever sent. */
  | { type: 'stall_before_headers' }
  /** Raw SSE lines written as they are (for malformed streams). */
  | { type: 'raw'; lines: string[] };

export interface WireToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

export interface WireMessage {
  role: string;
  content?: unknown;
  tool_calls?: WireToolCall[];
  tool_call_id?: string;
}

export interface ChatRequestBody {
  model: string;
  stream?: boolean;
  messages: WireMessage[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  tool_choice?: unknown;
  temperature?: number;
  stream_options?: { include_usage?: boolean };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: ChatRequestBody;
}

export interface FakeOpenAI {
  /** Base URL including `/v1`, as a user would configure it. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Turns not yet served. */
  pending(): number;
  close(): Promise<void>;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startFakeOpenAI(turns: ScriptedTurn[]): Promise<FakeOpenAI> {
  const queue = [...turns];
  const requests: RecordedRequest[] = [];
  let seq = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        sendError(res, 404, `fake: no route ${req.method} ${req.url}`);
        return;
      }
      const body = JSON.parse(text) as ChatRequestBody;
      requests.push({ method: req.method, path: req.url, headers: req.headers, body });
      const turn = queue.shift();
      if (!turn) {
        sendError(res, 500, 'fake: no scripted turn left');
        return;
      }
      void serve(turn, body, res, ++seq).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    pending: () => queue.length,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serve(turn: ScriptedTurn, body: ChatRequestBody, res: ServerResponse, n: number): Promise<void> {
  const base = { id: `chatcmpl-fake${n}`, object: 'chat.completion.chunk', created: 1_700_000_000 + n, model: body.model };
  const chunk = (delta: object, finish: string | null = null): object => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const send = (data: object | string): void => {
    res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  };
  const startStream = (): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
  };
  const finish = (reason: string): void => {
    send(chunk({}, reason));
    if (body.stream_options?.include_usage) {
      send({ ...base, choices: [], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } });
    }
    send('[DONE]');
    res.end();
  };

  switch (turn.type) {
    case 'http_error':
      sendError(res, turn.status, turn.message);
      return;
    case 'stall_before_headers':
      return;
    case 'stall_after_headers':
      startStream();
      if (turn.chunks) {
        send(chunk({ role: 'assistant', content: '' }));
        for (const c of turn.chunks) send(chunk({ content: c }));
      }
      return;
    case 'raw':
      startStream();
      for (const line of turn.lines) res.write(`${line}\n`);
      res.end();
      return;
    case 'reset':
      startStream();
      send(chunk({ role: 'assistant', content: '' }));
      for (const c of turn.chunks) {
        send(chunk({ content: c }));
        await delay(5);
      }
      res.socket?.destroy();
      return;
    case 'text':
      startStream();
      send(chunk({ role: 'assistant', content: '' }));
      for (const c of turn.chunks) {
        send(chunk({ content: c }));
        await delay(turn.delayMs ?? 5);
      }
      finish('stop');
      return;
    case 'tool_calls': {
      startStream();
      for (const [index, call] of turn.calls.entries()) {
        const id = call.id ?? `call_fake${n}_${index}`;
        const head = { index, id, type: 'function', function: { name: call.name, arguments: '' } };
        send(chunk(index === 0 ? { role: 'assistant', content: null, tool_calls: [head] } : { tool_calls: [head] }));
        for (const piece of split(call.arguments, call.pieces ?? 3)) {
          await delay(2);
          send(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
        }
      }
      finish('tool_calls');
      return;
    }
  }
}

function sendError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } }));
}

function split(s: string, pieces: number): string[] {
  const size = Math.max(1, Math.ceil(s.length / pieces));
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}
