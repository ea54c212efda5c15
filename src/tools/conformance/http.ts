/** The few HTTP calls the conformance checks make: JSON requests and one SSE read, over the global fetch. */

export interface CallOptions {
  token?: string | undefined;
  assistant?: string | undefined;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface Exchange {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
  /** For streams: ms from sending the request to the first body byte. */
  firstByteMs?: number;
  /** For streams: false when the server did not close the stream before the timeout. */
  closed?: boolean;
}

function requestHeaders(opts: CallOptions): Record<string, string> {
  const h: Record<string, string> = {};
  if (opts.token !== undefined) h['authorization'] = `Bearer ${opts.token}`;
  if (opts.assistant !== undefined) h['assistant-name'] = opts.assistant;
  if (opts.body !== undefined) h['content-type'] = 'application/json';
  return { ...h, ...opts.headers };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One request; the whole body is read. */
export async function call(baseUrl: string, method: string, path: string, opts: CallOptions = {}): Promise<Exchange> {
  const url = baseUrl + path;
  const res = await fetch(url, {
    method,
    headers: requestHeaders(opts),
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30000),
  });
  const text = await res.text();
  return { method, url, status: res.status, headers: res.headers, text, json: parseJson(text) };
}

/**
 * A streaming request: reads the body as it arrives until the server closes it or `timeoutMs` passes
 * (then `closed` is false). Records when the first body byte came.
 */
export async function callStream(baseUrl: string, method: string, path: string, opts: CallOptions = {}): Promise<Exchange> {
  const url = baseUrl + path;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs ?? 130000);
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method,
      headers: requestHeaders(opts),
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      signal: controller.signal,
    });
    let text = '';
    let firstByteMs: number | undefined;
    let closed = true;
    if (res.body) {
      const decoder = new TextDecoder();
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          firstByteMs ??= performance.now() - started;
          text += decoder.decode(value, { stream: true });
        }
        text += decoder.decode();
      } catch (err) {
        if (!controller.signal.aborted) throw err;
        closed = false;
      }
    }
    const out: Exchange = { method, url, status: res.status, headers: res.headers, text, json: parseJson(text), closed };
    if (firstByteMs !== undefined) out.firstByteMs = firstByteMs;
    return out;
  } finally {
    clearTimeout(timer);
  }
}
