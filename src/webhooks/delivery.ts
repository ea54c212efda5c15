import type { Logger } from 'pino';
import type { CoreDeps } from '../core/deps.ts';
import { describeCause } from '../jobs/failure.ts';
import { signWebhook, webhookEndpoints, type WebhookEndpoint } from './outbox.ts';

/** Retries go on until an event is this old (contract §9: at least 24 h); the attempt after that is the last. */
export const RETRY_FOR_MS = 24 * 3600_000;
const MAX_BACKOFF_MS = 3600_000;
/** Deliveries one node claims per poll. */
const BATCH = 20;

interface DueRow {
  seq: string;
  msg_id: string;
  endpoint: string;
  body: string;
  created_at: Date;
  attempts: number;
}

/** The wait after failed attempt `n` (1-based): first, twice that, … at most an hour. */
export function backoffMs(firstRetryMs: number, attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, firstRetryMs * 2 ** Math.min(attempt - 1, 30));
}

/**
 * Sends queued webhooks from this node. Every node runs one: a poll claims due rows for the endpoints this node
 * knows (an UPDATE over a FOR UPDATE SKIP LOCKED select, so two nodes never claim the same row), moving their
 * next attempt past the POST's timeout; a node that dies mid-POST thus leaves them due again (at-least-once).
 */
export class WebhookDelivery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly endpoints: Map<string, WebhookEndpoint>;

  constructor(
    private readonly deps: CoreDeps,
    private readonly logger: Logger,
  ) {
    this.endpoints = new Map(webhookEndpoints(deps.config).map((e) => [e.url, e]));
  }

  start(): void {
    if (this.endpoints.size === 0) return;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.poll()
        .then(() => undefined)
        .catch((err) => this.logger.warn({ err: describeCause(err) }, 'webhook delivery poll failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.deps.config.webhookDelivery.pollMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round: claims due rows and attempts each (in parallel, each bounded by the timeout). */
  async poll(): Promise<number> {
    const { timeoutMs } = this.deps.config.webhookDelivery;
    const now = this.deps.now();
    // The claim outlasts the POST (timeout) with room for the bookkeeping after it.
    const claimUntil = new Date(now.getTime() + timeoutMs + 30_000);
    const rows = await this.deps.db.query<DueRow>(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $3
       WHERE seq IN (SELECT seq FROM webhook_deliveries
                     WHERE status = 'PENDING' AND next_attempt_at <= $1 AND endpoint = ANY($2::text[])
                     ORDER BY next_attempt_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
       RETURNING seq, msg_id, endpoint, body, created_at, attempts`,
      [now, [...this.endpoints.keys()], claimUntil],
    );
    await Promise.all(rows.map((r) => this.attempt(r)));
    return rows.length;
  }

  private async attempt(row: DueRow): Promise<void> {
    const endpoint = this.endpoints.get(row.endpoint)!;
    const { timeoutMs, firstRetryMs } = this.deps.config.webhookDelivery;
    const started = this.deps.now();
    let httpStatus: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'parley-webhooks', ...signWebhook(endpoint.secret, row.msg_id, row.body, started) },
        body: row.body,
        // A redirect is not a delivery (and following it would send the payload somewhere not configured).
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      httpStatus = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
    } catch (err) {
      error = (describeCause(err) ?? 'request failed').slice(0, 500);
    }
    const ended = this.deps.now();
    const delivered = error === null;
    const expired = ended.getTime() - new Date(row.created_at).getTime() >= RETRY_FOR_MS;
    const status = delivered ? 'DELIVERED' : expired ? 'FAILED' : 'PENDING';
    const next = new Date(ended.getTime() + backoffMs(firstRetryMs, row.attempts));
    await this.deps.db.tx(async (q) => {
      await q.query(
        `INSERT INTO webhook_attempts (delivery_seq, attempt, at, http_status, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING`,
        [row.seq, row.attempts, started, httpStatus, error, ended.getTime() - started.getTime()],
      );
      // Guarded by the attempt number: if this POST outlived its claim and another node took the row, that
      // node's outcome stands.
      await q.query(
        `UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, last_status = $5, last_error = $6,
           delivered_at = CASE WHEN $3 = 'DELIVERED' THEN $7::timestamptz ELSE NULL END
         WHERE seq = $1 AND attempts = $2 AND status = 'PENDING'`,
        [row.seq, row.attempts, status, next, httpStatus, error, ended],
      );
    }, { retry: true });
    if (!delivered) {
      this.logger.warn({ endpoint: endpoint.url, webhookId: row.msg_id, attempt: row.attempts, error, final: expired }, 'webhook delivery failed');
    }
  }
}

export interface DeliveryLogEntry {
  webhook_id: string;
  type: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  created_at: string;
  next_attempt_at: string | null;
  attempts: { attempt: number; at: string; http_status: number | null; error: string | null; duration_ms: number }[];
}

/** The newest deliveries to `endpoint`, with every attempt (for operators: `GET /admin/v1/webhooks`). */
export async function deliveryLog(deps: CoreDeps, endpoint: string, limit = 50): Promise<DeliveryLogEntry[]> {
  // One statement, so a delivery and its attempts come from one snapshot (never a new attempt with the old schedule).
  const rows = await deps.db.query<{
    msg_id: string;
    event_type: string;
    status: DeliveryLogEntry['status'];
    created_at: Date;
    next_attempt_at: Date;
    attempts: { attempt: number; at: string; http_status: number | null; error: string | null; duration_ms: number }[] | string;
  }>(
    `SELECT d.msg_id, d.event_type, d.status, d.created_at, d.next_attempt_at,
       COALESCE((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'http_status', a.http_status, 'error', a.error,
                                                   'duration_ms', a.duration_ms) ORDER BY a.attempt)
                 FROM webhook_attempts a WHERE a.delivery_seq = d.seq), '[]'::json) AS attempts
     FROM webhook_deliveries d WHERE d.endpoint = $1 ORDER BY d.seq DESC LIMIT $2`,
    [endpoint, limit],
  );
  return rows.map((r) => {
    const attempts = typeof r.attempts === 'string' ? (JSON.parse(r.attempts) as Exclude<typeof r.attempts, string>) : r.attempts;
    return {
      webhook_id: r.msg_id,
      type: r.event_type,
      status: r.status,
      created_at: new Date(r.created_at).toISOString(),
      next_attempt_at: r.status === 'PENDING' ? new Date(r.next_attempt_at).toISOString() : null,
      attempts: attempts.map((a) => ({ attempt: a.attempt, at: new Date(a.at).toISOString(), http_status: a.http_status, error: a.error, duration_ms: a.duration_ms })),
    };
  });
}
