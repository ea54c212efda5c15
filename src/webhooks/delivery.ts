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
  /** For an endpoint registered through the admin API: its URL and secrets, read with the claim. */
  stored_url: string | null;
  stored_secret: string | null;
  previous_secret: string | null;
}

/** The wait after failed attempt `n` (1-based): first, twice that, … at most an hour. */
export function backoffMs(firstRetryMs: number, attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, firstRetryMs * 2 ** Math.min(attempt - 1, 30));
}

/**
 * Sends queued webhooks from this node. Every node runs one: a poll claims due rows for the endpoints this node
 * knows — its configured ones and every endpoint registered in the database — (an UPDATE over a FOR UPDATE SKIP
 * LOCKED select, so two nodes never claim the same row), moving their next attempt past the POST's timeout; a
 * node that dies mid-POST thus leaves them due again (at-least-once).
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
    let idle = 0;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.poll()
        .then((n) => {
          idle = n === 0 ? Math.min(idle + 1, 5) : 0;
        })
        .catch((err) => this.logger.warn({ err: describeCause(err) }, 'webhook delivery poll failed'))
        .finally(() => {
          // Polls that find nothing space out, up to 5 × pollMs: an idle node (most have no webhooks) stays quiet.
          if (!this.stopped) this.timer = setTimeout(tick, this.deps.config.webhookDelivery.pollMs * Math.max(1, idle));
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
      `UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $3
       WHERE d.seq IN (SELECT w.seq FROM webhook_deliveries w
                       WHERE w.status = 'PENDING' AND w.next_attempt_at <= $1
                         AND (w.endpoint = ANY($2::text[]) OR EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = w.endpoint))
                       ORDER BY w.next_attempt_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
       RETURNING d.seq, d.msg_id, d.endpoint, d.body, d.created_at, d.attempts,
         (SELECT e.url FROM webhook_endpoints e WHERE e.id = d.endpoint) AS stored_url,
         (SELECT e.secret FROM webhook_endpoints e WHERE e.id = d.endpoint) AS stored_secret,
         (SELECT e.previous_secret FROM webhook_endpoints e WHERE e.id = d.endpoint AND e.previous_secret_until > $1) AS previous_secret`,
      [now, [...this.endpoints.keys()], claimUntil],
    );
    await Promise.all(rows.map((r) => this.attempt(r)));
    return rows.length;
  }

  private async attempt(row: DueRow): Promise<void> {
    const configured = this.endpoints.get(row.endpoint);
    if (!configured && !row.stored_url) return; // deleted while being claimed
    const endpoint = configured
      ? { url: configured.url, secrets: [configured.secret] }
      : { url: row.stored_url!, secrets: [row.stored_secret!, ...(row.previous_secret ? [row.previous_secret] : [])] };
    const { timeoutMs, firstRetryMs } = this.deps.config.webhookDelivery;
    const started = this.deps.now();
    let httpStatus: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'parley-webhooks', ...signWebhook(endpoint.secrets, row.msg_id, row.body, started) },
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
      // The endpoint (and with it this row) may have been deleted meanwhile: then there is nothing to record.
      // The key-share lock keeps it from being deleted between this check and the insert.
      if ((await q.query(`SELECT 1 FROM webhook_deliveries WHERE seq = $1 FOR KEY SHARE`, [row.seq])).length === 0) return;
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

/**
 * Deletes finished deliveries (delivered, or given up after 24 h) whose event is older than `keepDays`, with
 * their attempts, `batch` rows per statement. Safe on several nodes at once (SKIP LOCKED; a delete is idempotent).
 */
export async function pruneDeliveries(deps: CoreDeps, keepDays: number, opts: { batch?: number; maxBatches?: number } = {}): Promise<number> {
  const batch = opts.batch ?? 1000;
  const cutoff = new Date(deps.now().getTime() - keepDays * 86_400_000);
  let total = 0;
  for (let i = 0; i < (opts.maxBatches ?? 20); i++) {
    const rows = await deps.db.query(
      `DELETE FROM webhook_deliveries WHERE seq IN (
         SELECT seq FROM webhook_deliveries WHERE status <> 'PENDING' AND created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING seq`,
      [cutoff, batch],
    );
    total += rows.length;
    if (rows.length < batch) break;
  }
  return total;
}
