import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { httpUrl, webhookEvents, webhookSecret } from '../config.ts';
import type { CoreDeps } from '../core/deps.ts';
import { ApiError, notFound } from '../protocol/errors.ts';
import { isId, newId } from '../protocol/ids.ts';
import type { WebhookEvent } from './outbox.ts';

/** At most this many registered endpoints: each event is one outbox row per endpoint (bounded work per change). */
export const MAX_STORED_ENDPOINTS = 100;
/** After a rotation the previous secret still signs (a second signature) this long by default. */
export const DEFAULT_OVERLAP_HOURS = 24;

/** `POST /admin/v1/webhooks`. Unknown fields are ignored, as elsewhere in the API. */
export const createEndpointBody = z.object({
  url: httpUrl.refine((v) => v.length <= 2048, 'must be at most 2048 characters'),
  events: webhookEvents,
  /** Omitted: the server generates one (returned once, in this answer). */
  secret: webhookSecret.optional(),
  description: z.string().max(500).optional(),
});

/** `POST /admin/v1/webhooks/{id}/rotate-secret`. */
export const rotateSecretBody = z
  .object({
    secret: webhookSecret.optional(),
    /** How long the previous secret keeps signing too (0: stop at once). */
    overlap_hours: z.number().int().min(0).max(168).optional(),
  })
  .default({});

/** An endpoint as the admin API shows it: never its secret (only create and rotate return that, once). */
export interface StoredEndpoint {
  id: string;
  url: string;
  events: WebhookEvent[];
  description: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  /** Until when the previous secret still signs too (after a rotation), else null. */
  previous_secret_until: string | null;
}

interface EndpointRow {
  id: string;
  url: string;
  events: WebhookEvent[] | string;
  description: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  previous_secret_until: Date | null;
}

const COLUMNS = 'id, url, events, description, created_by, created_at, updated_at, previous_secret_until';

/** A Postgres text[] arrives as an array from node-postgres and PGlite alike; accept its text form too. */
function eventsOf(v: WebhookEvent[] | string): WebhookEvent[] {
  if (Array.isArray(v)) return v;
  return v.replace(/^\{|\}$/g, '').split(',').filter(Boolean) as WebhookEvent[];
}

function render(r: EndpointRow, now: Date): StoredEndpoint {
  const until = r.previous_secret_until && new Date(r.previous_secret_until) > now ? new Date(r.previous_secret_until).toISOString() : null;
  return {
    id: r.id,
    url: r.url,
    events: eventsOf(r.events),
    description: r.description,
    created_by: r.created_by,
    created_at: new Date(r.created_at).toISOString(),
    updated_at: new Date(r.updated_at).toISOString(),
    previous_secret_until: until,
  };
}

/** A fresh Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Registers an endpoint every node delivers to. 409 for a URL already registered or configured. */
export async function createEndpoint(
  deps: CoreDeps,
  input: z.infer<typeof createEndpointBody>,
  actor: string,
): Promise<StoredEndpoint & { secret: string }> {
  if (deps.config.webhooks.some((w) => w.url === input.url)) {
    throw new ApiError('CONFLICT', 'this url is already a configured webhook endpoint');
  }
  const secret = input.secret ?? newWebhookSecret();
  const now = deps.now();
  const row = await deps.db.tx(async (q) => {
    // One registration at a time, so the count bound holds with several admins on several nodes.
    await q.query(`SELECT pg_advisory_xact_lock(724012)`);
    const [{ n }] = (await q.query<{ n: number | string }>(`SELECT count(*) AS n FROM webhook_endpoints`)) as [{ n: number | string }];
    if (Number(n) >= MAX_STORED_ENDPOINTS) throw new ApiError('CONFLICT', `at most ${MAX_STORED_ENDPOINTS} webhook endpoints can be registered`);
    const rows = await q.query<EndpointRow>(
      `INSERT INTO webhook_endpoints (id, url, secret, events, description, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $7) ON CONFLICT (url) DO NOTHING RETURNING ${COLUMNS}`,
      [newId('whep'), input.url, secret, input.events, input.description ?? null, actor, now],
    );
    if (!rows[0]) throw new ApiError('CONFLICT', 'a webhook endpoint with this url is already registered');
    return rows[0];
  });
  return { ...render(row, now), secret };
}

export async function listEndpoints(deps: CoreDeps): Promise<StoredEndpoint[]> {
  const rows = await deps.db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints ORDER BY created_at, id`);
  const now = deps.now();
  return rows.map((r) => render(r, now));
}

export async function getEndpoint(deps: CoreDeps, id: string): Promise<StoredEndpoint> {
  if (!isId('whep', id)) throw notFound('webhook endpoint');
  const rows = await deps.db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
  if (!rows[0]) throw notFound('webhook endpoint');
  return render(rows[0], deps.now());
}

/** Removes the endpoint and its outbox rows (pending ones are not sent any more) with their attempts. */
export async function deleteEndpoint(deps: CoreDeps, id: string): Promise<void> {
  if (!isId('whep', id)) throw notFound('webhook endpoint');
  const gone = await deps.db.tx(async (q) => {
    const rows = await q.query(`DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id`, [id]);
    if (rows.length === 0) return false;
    await q.query(`DELETE FROM webhook_deliveries WHERE endpoint = $1`, [id]);
    return true;
  });
  if (!gone) throw notFound('webhook endpoint');
}

/**
 * A new signing secret (given or generated, returned once). The previous one keeps signing too — a second
 * `v1,` signature on every request — for `overlap_hours` (default 24), so receivers can switch without a gap.
 */
export async function rotateSecret(deps: CoreDeps, id: string, input: z.infer<typeof rotateSecretBody>): Promise<StoredEndpoint & { secret: string }> {
  if (!isId('whep', id)) throw notFound('webhook endpoint');
  const secret = input.secret ?? newWebhookSecret();
  const now = deps.now();
  const until = new Date(now.getTime() + (input.overlap_hours ?? DEFAULT_OVERLAP_HOURS) * 3_600_000);
  const rows = await deps.db.query<EndpointRow>(
    `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $3, secret = $2, updated_at = $4
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, secret, until, now],
  );
  if (!rows[0]) throw notFound('webhook endpoint');
  return { ...render(rows[0], now), secret };
}
