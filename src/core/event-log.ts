import type { StreamEventType } from '../protocol/schemas.ts';
import type { Queryable } from '../store/db.ts';
import { CHANNEL_EVENTS } from './deps.ts';

/**
 * Appends one event to a response's log inside the caller's transaction: the next sequence number comes from
 * the response row (`last_seq`), the stored `data` is the exact JSON line sent over SSE, and a NOTIFY tells
 * every node's streams to read on (delivered at commit).
 *
 * `fence`: the worker's lease id; when the response is no longer leased to it, nothing is written and null is
 * returned, so a worker that lost its lease cannot write over the one that took over. Returns the stored event
 * (for handing to this process's streams once the transaction commits).
 */
export async function appendEvent(
  q: Queryable,
  responseId: string,
  type: StreamEventType,
  payload: Record<string, unknown>,
  fence?: string,
): Promise<StoredEvent | null> {
  const rows = fence
    ? await q.query<{ last_seq: number }>(
        `UPDATE responses SET last_seq = last_seq + 1 WHERE id = $1 AND lease_owner = $2 RETURNING last_seq`,
        [responseId, fence],
      )
    : await q.query<{ last_seq: number }>(`UPDATE responses SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq`, [
        responseId,
      ]);
  const seq = rows[0]?.last_seq;
  if (seq === undefined) return null;
  const data = JSON.stringify({ event_type: type, sequence_number: seq, ...payload });
  await q.query(`INSERT INTO response_events (response_id, seq, event_type, data) VALUES ($1, $2, $3, $4)`, [
    responseId,
    seq,
    type,
    data,
  ]);
  await q.query(`SELECT pg_notify($1, $2)`, [CHANNEL_EVENTS, `${responseId}:${seq}`]);
  return { seq, event_type: type, data };
}

export interface StoredEvent {
  seq: number;
  event_type: StreamEventType;
  data: string;
}

/** Events of a response after `afterSeq`, in order. */
export async function readEvents(q: Queryable, responseId: string, afterSeq: number, limit = 500): Promise<StoredEvent[]> {
  return q.query<StoredEvent>(
    `SELECT seq, event_type, data FROM response_events WHERE response_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [responseId, afterSeq, limit],
  );
}

/** True once the response is COMPLETED or FAILED (its log then ends with the terminal event, written in the same commit). */
export async function isFinished(q: Queryable, responseId: string): Promise<boolean> {
  const rows = await q.query<{ status: string }>(`SELECT status FROM responses WHERE id = $1`, [responseId]);
  const status = rows[0]?.status;
  return status === undefined || status === 'COMPLETED' || status === 'FAILED';
}

export function isTerminal(type: StreamEventType): boolean {
  return type === 'RESPONSE_COMPLETED' || type === 'RESPONSE_FAILED';
}

/**
 * The worker's hot path: appends RESPONSE_OUTPUT_DELTA number `seq` and upserts that output's current
 * snapshot in ONE statement (one round trip instead of a transaction of five). Fenced twice: the response must
 * still be leased to `lease`, and `seq` must follow the stored `last_seq` exactly. False when either fails.
 */
export async function appendDelta(
  q: Queryable,
  d: { responseId: string; lease: string; seq: number; idx: number; itemId: string; item: unknown; itemJson?: string },
): Promise<StoredEvent | null> {
  // The item is serialised once (the caller may have done it already): the event line and the stored snapshot.
  const itemJson = d.itemJson ?? JSON.stringify(d.item);
  const data = `{"event_type":"RESPONSE_OUTPUT_DELTA","sequence_number":${d.seq},"output":${itemJson}}`;
  const rows = await q.query(
    `WITH s AS (
       UPDATE responses SET last_seq = $3::int WHERE id = $1::text AND lease_owner = $2::text AND last_seq = $3::int - 1 RETURNING id
     ), e AS (
       INSERT INTO response_events (response_id, seq, event_type, data)
       SELECT id, $3::int, 'RESPONSE_OUTPUT_DELTA', $4::text FROM s RETURNING response_id
     ), o AS (
       INSERT INTO response_outputs (response_id, idx, item_id, item)
       SELECT id, $5::int, $6::text, $7::jsonb FROM s
       ON CONFLICT (response_id, idx) DO UPDATE SET item = EXCLUDED.item RETURNING response_id
     ), relaxed AS (
       -- Intermediate snapshots need not wait for the WAL flush: the terminal event's durable commit flushes
       -- everything before it, and a crash of the database mid-answer is covered by the retry, which
       -- replaces this attempt's outputs. Create and terminal commits stay synchronous.
       SELECT set_config('synchronous_commit', 'off', true) AS v
     )
     SELECT pg_notify($8::text, $1::text || ':' || $3::text) FROM e, o, relaxed`,
    [d.responseId, d.lease, d.seq, data, d.idx, d.itemId, itemJson, CHANNEL_EVENTS],
  );
  return rows.length > 0 ? { seq: d.seq, event_type: 'RESPONSE_OUTPUT_DELTA', data } : null;
}
