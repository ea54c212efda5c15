/**
 * A small HTTP/1.1 load generator on raw keep-alive sockets. It parses only what it needs (status line,
 * content-length, chunked framing), so on a 2-core machine it takes less CPU from the server under test than
 * node:http's client would: the raw node:http baseline would otherwise be bounded by the client, not the server.
 */
import { connect, type Socket } from 'node:net';

export interface Target {
  host: string;
  port: number;
}

interface Pending {
  started: bigint;
  onFirstBody: ((at: bigint) => void) | undefined;
  resolve: (r: Reply) => void;
  reject: (err: Error) => void;
}

export interface Reply {
  status: number;
  bodyBytes: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** One keep-alive connection, one request at a time. */
export class Connection {
  private socket: Socket | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | null = null;
  private state: 'head' | 'length' | 'chunked' = 'head';
  private status = 0;
  private remaining = 0;
  private bodyBytes = 0;
  private closeAfter = false;
  private sawBody = false;

  constructor(private readonly target: Target) {}

  private open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.target.host, port: this.target.port, noDelay: true });
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', (err) => {
          if (this.socket === s) this.fail(err);
        });
        s.on('close', () => {
          if (this.socket !== s) return;
          this.socket = null;
          this.fail(new Error('connection closed'));
        });
        s.on('data', (chunk: Buffer) => this.onData(chunk));
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }

  /** Sends a whole request (head and body bytes) and resolves when its response has been read. */
  async send(request: Buffer, onFirstBody?: (at: bigint) => void): Promise<Reply> {
    if (!this.socket) this.socket = await this.open();
    this.buf = Buffer.alloc(0);
    this.state = 'head';
    this.sawBody = false;
    return new Promise<Reply>((resolve, reject) => {
      this.pending = { started: process.hrtime.bigint(), onFirstBody, resolve, reject };
      this.socket!.write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.state === 'head') {
        const end = this.buf.indexOf(CRLFCRLF);
        if (end === -1) return;
        const head = this.buf.subarray(0, end).toString('latin1');
        this.buf = this.buf.subarray(end + 4);
        this.status = Number(head.slice(9, 12));
        const lower = head.toLowerCase();
        const length = /\r\ncontent-length: *(\d+)/.exec(lower);
        this.closeAfter = /\r\nconnection: *close/.test(lower);
        this.bodyBytes = 0;
        if (/\r\ntransfer-encoding: *chunked/.test(lower)) {
          this.state = 'chunked';
          this.remaining = 0;
        } else {
          this.state = 'length';
          this.remaining = length ? Number(length[1]) : 0;
        }
      }
      if (this.buf.length && !this.sawBody) {
        this.sawBody = true;
        this.pending?.onFirstBody?.(process.hrtime.bigint());
      }
      if (this.state === 'length') {
        const take = Math.min(this.remaining, this.buf.length);
        this.remaining -= take;
        this.bodyBytes += take;
        this.buf = this.buf.subarray(take);
        if (this.remaining > 0) return;
        return this.finish();
      }
      // chunked: `remaining` counts the bytes left of the current chunk, its CRLF included
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, this.buf.length);
        this.remaining -= take;
        this.bodyBytes += take;
        this.buf = this.buf.subarray(take);
        if (this.remaining > 0) return;
      }
      const eol = this.buf.indexOf('\r\n');
      if (eol === -1) return;
      const size = parseInt(this.buf.subarray(0, eol).toString('latin1'), 16);
      if (size === 0) {
        if (this.buf.length < eol + 4) return;
        this.buf = this.buf.subarray(eol + 4);
        return this.finish();
      }
      this.buf = this.buf.subarray(eol + 2);
      this.remaining = size + 2;
    }
  }

  private finish(): void {
    const p = this.pending;
    this.pending = null;
    if (this.closeAfter) this.close();
    p?.resolve({ status: this.status, bodyBytes: this.bodyBytes });
  }
}

/** Bytes of one HTTP/1.1 request. */
export function requestBytes(target: Target, method: string, path: string, headers: Record<string, string>, body?: string): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `host: ${target.host}:${target.port}`, 'connection: keep-alive'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined) {
    lines.push('content-type: application/json', `content-length: ${Buffer.byteLength(body)}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
}

export interface LoadResult {
  /** Completed requests per second in the measured window. */
  rps: number;
  p50: number;
  p99: number;
  /** Measured requests (after the warm-up). */
  count: number;
  /** Answers with another status than expected, and failed connections. */
  errors: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const ms = (ns: bigint) => Number(ns) / 1e6;

export interface ClosedLoopOptions {
  target: Target;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** The request a connection sends next (`conn` is its index). */
  request: (conn: number) => Buffer;
  expectStatus: number;
}

/**
 * Fixed concurrency: each connection sends its next request as soon as the previous answer is read. Latency is
 * request written → response read; only requests started after the warm-up count.
 */
export async function closedLoop(o: ClosedLoopOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const t0 = process.hrtime.bigint();
  const measureFrom = t0 + BigInt(o.warmupMs) * 1_000_000n;
  const end = measureFrom + BigInt(o.durationMs) * 1_000_000n;
  const worker = async (i: number) => {
    const conn = new Connection(o.target);
    try {
      for (;;) {
        const start = process.hrtime.bigint();
        if (start >= end) break;
        let ok = false;
        try {
          ok = (await conn.send(o.request(i))).status === o.expectStatus;
        } catch {
          conn.close();
        }
        if (start >= measureFrom) {
          if (ok) latencies.push(ms(process.hrtime.bigint() - start));
          else errors++;
        }
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: o.connections }, (_, i) => worker(i)));
  const sorted = Float64Array.from(latencies).sort();
  return { rps: latencies.length / (o.durationMs / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: latencies.length, errors };
}

export interface StreamLoopResult extends LoadResult {
  /** Streams read to their end per second (bounded by how fast answers are produced). */
  streamsPerSecond: number;
}

/**
 * `streams` clients, each opening a stream, reading it to the end, then opening the next. The latency is request
 * written → first byte of the event stream's body; the answer's own duration is not part of it.
 */
export async function streamLoop(o: Omit<ClosedLoopOptions, 'connections'> & { streams: number }): Promise<StreamLoopResult> {
  const firstBytes: number[] = [];
  let errors = 0;
  let finished = 0;
  const t0 = process.hrtime.bigint();
  const measureFrom = t0 + BigInt(o.warmupMs) * 1_000_000n;
  const end = measureFrom + BigInt(o.durationMs) * 1_000_000n;
  const worker = async (i: number) => {
    const conn = new Connection(o.target);
    try {
      for (;;) {
        const start = process.hrtime.bigint();
        if (start >= end) break;
        let first: bigint | undefined;
        let ok = false;
        try {
          ok = (await conn.send(o.request(i), (at) => (first = at))).status === o.expectStatus;
        } catch {
          conn.close();
        }
        if (start >= measureFrom) {
          if (ok && first !== undefined) {
            firstBytes.push(ms(first - start));
            if (process.hrtime.bigint() <= end) finished++;
          } else errors++;
        }
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: o.streams }, (_, i) => worker(i)));
  const sorted = Float64Array.from(firstBytes).sort();
  return {
    rps: firstBytes.length / (o.durationMs / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    count: firstBytes.length,
    errors,
    streamsPerSecond: finished / (o.durationMs / 1000),
  };
}
