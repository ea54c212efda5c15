import { createHmac, randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Queryable } from '../store/db.ts';

/** Event types of contract §9. */
export const WEBHOOK_EVENTS = ['response.completed', 'response.failed', 'feedback.submitted', 'conversation.updated'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEndpoint {
  url: string;
  /** `whsec_<base64>` (Standard Webhooks). */
  secret: string;
  events: WebhookEvent[];
}

/** Configured endpoints: `webhooks` from the file plus the one of `PARLEY_WEBHOOK_URL` / `PARLEY_WEBHOOK_SECRET`. */
export function webhookEndpoints(config: Config): WebhookEndpoint[] {
  return config.webhooks;
}

/**
 * Queues `type` for every endpoint that subscribes to it: the configured ones (named by URL in the outbox) and
 * those registered through the admin API (named by id). One statement, in the transaction that makes the change
 * it reports: the rows commit (and are later sent) exactly when the change does.
 */
export async function enqueueWebhook(q: Queryable, config: Config, type: WebhookEvent, data: Record<string, unknown>, at: Date): Promise<void> {
  const { msgId, body, configured, conversationId } = webhookMessage(config, type, data, at);
  await q.query(
    `INSERT INTO webhook_deliveries (msg_id, endpoint, event_type, body, created_at, next_attempt_at, conversation_id)
     SELECT $1, t.endpoint, $3, $4, $5, $5, $6 FROM ${webhookTargets('$2', '$3')} t`,
    [msgId, configured, type, body, at, conversationId],
  );
}

/**
 * The endpoints a webhook goes to, as a FROM item with one column `endpoint`: the configured ones subscribed to the
 * event (parameter `configured`, their URLs) and the registered ones subscribed to it (parameter `type`).
 */
export function webhookTargets(configured: string, type: string): string {
  return `(SELECT unnest(${configured}::text[]) AS endpoint UNION ALL SELECT id FROM webhook_endpoints WHERE ${type}::text = ANY(events))`;
}

/**
 * One webhook message: its id, its body, the conversation it is about and the configured endpoints (by URL) that
 * subscribe to `type`; for a statement that queues it itself (to `webhookTargets`), as enqueueWebhook does.
 */
export function webhookMessage(
  config: Config,
  type: WebhookEvent,
  data: Record<string, unknown>,
  at: Date,
): { msgId: string; body: string; configured: string[]; conversationId: string | null } {
  const configured = webhookEndpoints(config)
    .filter((e) => e.events.includes(type))
    .map((e) => e.url);
  const msgId = `msg_${randomUUID().replaceAll('-', '')}`;
  return { msgId, body: JSON.stringify({ type, timestamp: at.toISOString(), data }), configured, conversationId: conversationOf(data) };
}

/** The conversation an event is about: `conversation_id`, or the id of the `conversation` it carries. */
function conversationOf(data: Record<string, unknown>): string | null {
  if (typeof data['conversation_id'] === 'string') return data['conversation_id'];
  const c = data['conversation'];
  return c !== null && typeof c === 'object' && typeof (c as Record<string, unknown>)['id'] === 'string' ? ((c as Record<string, unknown>)['id'] as string) : null;
}

/** Queues `response.completed` / `response.failed` (no-op without a subscribed endpoint). */
export async function enqueueResponseEvent(
  q: Queryable,
  config: Config,
  type: 'response.completed' | 'response.failed',
  conversationId: string,
  response: unknown,
  at: Date,
): Promise<void> {
  // One round trip tells whether anyone listens (a registered endpoint) and whose conversation it is.
  const rows = await q.query<{ user_id: string; assistant: string; stored: boolean }>(
    `SELECT c.user_id, c.assistant, EXISTS (SELECT 1 FROM webhook_endpoints WHERE $2 = ANY(events)) AS stored FROM conversations c WHERE c.id = $1`,
    [conversationId, type],
  );
  const owner = rows[0];
  if (!owner?.stored && !webhookEndpoints(config).some((e) => e.events.includes(type))) return;
  await enqueueWebhook(q, config, type, { conversation_id: conversationId, user_id: owner?.user_id, assistant: owner?.assistant, response }, at);
}

/**
 * Standard Webhooks headers for one attempt: HMAC-SHA256 keyed with the secret's base64 part, over
 * `id.timestamp.body`, timestamp in seconds. Several secrets (during a rotation) give several space-separated
 * `v1,` signatures; a receiver accepts the request when any one verifies.
 */
export function signWebhook(secret: string | string[], msgId: string, body: string, at: Date): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const signatures = (Array.isArray(secret) ? secret : [secret]).map((s) => {
    const key = Buffer.from(s.slice('whsec_'.length), 'base64');
    return `v1,${createHmac('sha256', key).update(`${msgId}.${timestamp}.${body}`).digest('base64')}`;
  });
  return { 'webhook-id': msgId, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
}
