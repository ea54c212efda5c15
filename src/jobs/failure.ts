import { isEngineError } from '../assistant/engine.ts';
import { type CoreDeps } from '../core/deps.ts';
import { appendEvent } from '../core/event-log.ts';
import { renderResponse, type ResponseRow } from '../core/render.ts';
import type { OutputItem } from '../protocol/schemas.ts';
import type { NotifyHub } from './hub.ts';
import { enqueueResponseEvent } from '../webhooks/outbox.ts';

/** Marks a response FAILED with a client-safe error and appends RESPONSE_FAILED; false when it was already final or not ours. */
export async function failResponse(
  deps: CoreDeps,
  responseId: string,
  error: { code: string; message: string },
  lease?: string,
  local?: NotifyHub,
  opts: { wait?: boolean; notify?: { channel: string; payload: string } } = {},
): Promise<boolean> {
  const completedAt = deps.now();
  const ev = await deps.db.tx(async (q) => {
    // The reaper skips a row another node is working on; a cancel waits for that node's statement to end and
    // then sees the row as it now is (finished by then, or still cancellable).
    const rows = await q.query<ResponseRow & { lease_owner: string | null }>(
      `SELECT id, conversation_id, status, created_at, completed_at, error, lease_owner FROM responses
       WHERE id = $1 AND status IN ('CREATED', 'IN_PROGRESS') FOR UPDATE${opts.wait ? '' : ' SKIP LOCKED'}`,
      [responseId],
    );
    const row = rows[0];
    if (!row || (lease !== undefined && row.lease_owner !== lease)) return null;
    const outputs = (await q.query<{ item: OutputItem }>(`SELECT item FROM response_outputs WHERE response_id = $1 ORDER BY idx`, [responseId])).map(
      (o) => o.item,
    );
    await q.query(
      `UPDATE responses SET status = 'FAILED', completed_at = $2, error = $3, lease_owner = NULL, lease_until = NULL WHERE id = $1`,
      [responseId, completedAt, JSON.stringify(error)],
    );
    const response = renderResponse({ ...row, status: 'FAILED', completed_at: completedAt, error }, outputs);
    await enqueueResponseEvent(q, deps.config, 'response.failed', row.conversation_id, response, completedAt);
    if (opts.notify) await q.query(`SELECT pg_notify($1, $2)`, [opts.notify.channel, opts.notify.payload]);
    return appendEvent(q, responseId, 'RESPONSE_FAILED', { response });
  }, { retry: true });
  if (ev) local?.publish(responseId, ev);
  return ev !== null;
}

/** The client-safe `error` of a FAILED response, from whatever ended the answer. */
export function toClientError(err: unknown, signal: AbortSignal, timeoutSeconds: number): { code: string; message: string } {
  const reason = signal.aborted ? signal.reason : undefined;
  if ((isEngineError(reason) && reason.code === 'ENGINE_TIMEOUT') || (isEngineError(err) && err.code === 'ENGINE_TIMEOUT' && signal.aborted)) {
    return { code: 'TIMEOUT', message: `The response did not complete within ${timeoutSeconds} seconds.` };
  }
  if (isEngineError(err)) return { code: err.code, message: err.message };
  return { code: 'ENGINE_ERROR', message: 'The assistant failed to answer. Please try again.' };
}

/**
 * The chain of causes behind an engine failure, for the log line (the client's message stays generic): e.g.
 * `Cannot connect to API: connect ECONNREFUSED 127.0.0.1:11434`. Bounded in depth and length.
 */
export function describeCause(err: unknown): string | undefined {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e !== undefined && e !== null; depth++) {
    const o = e as { message?: unknown; code?: unknown; cause?: unknown };
    const msg = typeof o.message === 'string' ? o.message : typeof e === 'string' ? e : '';
    const code = typeof o.code === 'string' && !msg.includes(o.code) ? ` (${o.code})` : '';
    if (msg && !parts.includes(msg + code)) parts.push(msg + code);
    e = typeof e === 'object' ? o.cause : undefined;
  }
  // Causes may quote URLs: keep user info and query values out of the log.
  const text = parts
    .join(' <- ')
    .replace(/\/\/[^/\s@]+@/g, '//')
    .replace(/([?&][^=\s&#]+)=[^&\s#]*/g, '$1=…');
  return text ? text.slice(0, 1000) : undefined;
}
