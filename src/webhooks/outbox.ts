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
 * Queues `type` for every endpoint that subscribes to it. Call it with the transaction that makes the change it
 * reports: the rows commit (and are later sent) exactly when the change does. No endpoint: no work at all.
 */
export async function enqueueWebhook(q: Queryable, config: Config, type: WebhookEvent, data: Record<string, unknown>, at: Date): Promise<void> {
  const targets = webhookEndpoints(config).filter((e) => e.events.includes(type));
  if (targets.length === 0) return;
  const msgId = `msg_${randomUUID().replaceAll('-', '')}`;
  const body = JSON.stringify({ type, timestamp: at.toISOString(), data });
  for (const e of targets) {
    await q.query(
      `INSERT INTO webhook_deliveries (msg_id, endpoint, event_type, body, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5)`,
      [msgId, e.url, type, body, at],
    );
  }
}

/** The owner of a conversation, for events whose row does not carry it. */
export async function conversationOwner(q: Queryable, conversationId: string): Promise<{ user_id: string; assistant: string } | undefined> {
  return (await q.query<{ user_id: string; assistant: string }>(`SELECT user_id, assistant FROM conversations WHERE id = $1`, [conversationId]))[0];
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
  if (!webhookEndpoints(config).some((e) => e.events.includes(type))) return;
  const owner = await conversationOwner(q, conversationId);
  await enqueueWebhook(q, config, type, { conversation_id: conversationId, user_id: owner?.user_id, assistant: owner?.assistant, response }, at);
}

/**
 * Standard Webhooks headers for one attempt: HMAC-SHA256 keyed with the secret's base64 part, over
 * `id.timestamp.body`, timestamp in seconds.
 */
export function signWebhook(secret: string, msgId: string, body: string, at: Date): Record<string, string> {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const signature = createHmac('sha256', key).update(`${msgId}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': msgId, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
