import type { FastifyReply } from 'fastify';
import type { CoreDeps } from '../core/deps.ts';
import { isFinished, isTerminal, readEvents, type StoredEvent } from '../core/event-log.ts';
import type { Notice, NotifyHub } from '../jobs/hub.ts';
import type { Metrics } from './metrics.ts';

/**
 * The streams open on this node. On shutdown they are ended (not cancelled: the responses go on), so a
 * draining node does not wait for answers another node is producing; clients resume with Last-Event-ID.
 */
export class OpenStreams {
  private readonly ends = new Set<() => void>();
  add(end: () => void): () => void {
    this.ends.add(end);
    return () => this.ends.delete(end);
  }
  endAll(): void {
    for (const end of [...this.ends]) end();
  }
}

/** How often a stream re-reads the log without a notification while notifications cannot reach this process. */
const FALLBACK_POLL_MS = 2000;
/**
 * The same while notifications are live (a last resort only: a lost listener is re-established and its subscribers
 * told to read). Every open stream polling every 2 s was 5,000 reads a second at 10,000 streams, which queued the
 * reads that notifications asked for behind them.
 */
const LIVE_POLL_MS = 30_000;

export function frame(e: Pick<StoredEvent, 'seq' | 'event_type' | 'data'>): string {
  return `id: ${e.seq}\nevent: ${e.event_type}\ndata: ${e.data}\n\n`;
}

/**
 * Streams a response's event log as SSE from `afterSeq` on, live until the terminal event, then closes
 * (contract §5). Reads the same log on any node; wakes on NOTIFY. Closing the connection never cancels the
 * response. `first` is an event already in hand (the RESPONSE_CREATED of a fresh create) sent at once.
 */
export async function streamEvents(
  reply: FastifyReply,
  deps: CoreDeps,
  hub: NotifyHub,
  metrics: Metrics,
  open: OpenStreams,
  responseId: string,
  afterSeq: number,
  opts: { first?: StoredEvent | undefined; transform?: ((data: string) => string) | undefined } = {},
): Promise<void> {
  const res = reply.raw;
  reply.hijack();
  const headers: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v as string | number | string[];
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  metrics.openStreams.inc();

  let last = afterSeq;
  let closed = false;
  let done = false;
  let dirty = true;
  let wake: (() => void) | null = null;
  // Events handed over in-process by this node's worker, written without a database read.
  const handed: StoredEvent[] = [];
  const kick = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const off = hub.on(responseId, (n: Notice) => {
    if (n.event) handed.push(n.event);
    else if (n.seq === undefined || n.seq > last) dirty = true;
    kick();
  });
  const onClose = () => {
    closed = true;
    kick();
  };
  res.on('close', onClose);
  // On shutdown, end the response at once rather than when the loop next looks: the server closes idle
  // connections right after this hook, and one still mid-response would hold shutdown for its keep-alive timeout.
  const unregister = open.add(() => {
    onClose();
    if (!res.writableEnded) res.end();
  });
  const keepAlive = setInterval(() => {
    if (!closed) res.write(': keep-alive\n\n');
  }, deps.config.keepAliveSeconds * 1000);

  const write = (e: StoredEvent) => {
    if (closed || e.seq <= last) return;
    res.write(frame(opts.transform ? { ...e, data: opts.transform(e.data) } : e));
    last = e.seq;
    if (isTerminal(e.event_type)) done = true;
  };

  try {
    if (opts.first) write(opts.first);
    while (!closed && !done) {
      if (handed.length) {
        for (const e of handed.splice(0)) {
          // In order: write it; a gap (an event this node did not write): read the log instead.
          if (e.seq === last + 1) write(e);
          else if (e.seq > last) dirty = true;
          if (done) break;
        }
        continue;
      }
      if (dirty) {
        dirty = false;
        const events = await readEvents(deps.db, responseId, last);
        for (const e of events) {
          write(e);
          if (done) break;
        }
        if (events.length >= 500) dirty = true;
        // Nothing after `last` in the log of a finished response: the client already has the terminal event
        // (a resume from the final event id, or beyond it). Close at once rather than keep-alive forever.
        else if (events.length === 0 && (await isFinished(deps.db, responseId))) {
          // The terminal event may have committed between the two reads: read once more (same commit as the
          // status), then end either way.
          for (const e of await readEvents(deps.db, responseId, last)) write(e);
          done = true;
        }
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          dirty = true;
          wake = null;
          resolve();
        }, deps.db.notificationsLive() ? LIVE_POLL_MS + Math.floor(Math.random() * 5000) : FALLBACK_POLL_MS);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  } catch (err) {
    // A fault of the stream itself (not of the answer): tell the client, then close (contract §5: ERROR).
    if (!closed) {
      res.write(`event: ERROR\ndata: ${JSON.stringify({ error: { code: 'STREAM_ERROR', message: 'The event stream failed; resume with Last-Event-ID.' } })}\n\n`);
    }
    reply.log.error({ err, response_id: responseId }, 'stream failed');
  } finally {
    off();
    unregister();
    clearInterval(keepAlive);
    res.off('close', onClose);
    metrics.openStreams.dec();
    if (!res.writableEnded) res.end();
  }
}
