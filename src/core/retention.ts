import { deleteConversationRows, forgetConversations } from './deletion.ts';
import type { CoreDeps } from './deps.ts';

/** Contract §5: a finished response's events are kept at least this long before compaction may touch them. */
export const MIN_EVENT_LOG_HOURS = 24;

/**
 * `retention.days`: deletes conversations idle (not updated) for longer than `days`, `batch` at a time, each
 * batch one transaction. Safe on every node at once: a batch locks its conversations with SKIP LOCKED, so two
 * nodes take different ones, and a conversation someone is asking in right now (its row locked) is left for the
 * next run. A conversation with an unfinished response is never purged. Returns how many were deleted.
 */
export async function purgeIdleConversations(deps: CoreDeps, days: number, opts: { batch?: number; maxBatches?: number } = {}): Promise<number> {
  const batch = opts.batch ?? 100;
  const cutoff = new Date(deps.now().getTime() - days * 86_400_000);
  let total = 0;
  for (let i = 0; i < (opts.maxBatches ?? 20); i++) {
    const ids = await deps.db.tx(async (q) => {
      const rows = await q.query<{ id: string }>(
        `SELECT c.id FROM conversations c
         WHERE c.updated_at < $1
           AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.conversation_id = c.id AND r.status IN ('CREATED', 'IN_PROGRESS'))
         ORDER BY c.updated_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [cutoff, batch],
      );
      const found = rows.map((r) => r.id);
      await deleteConversationRows(q, found);
      return found;
    }, { retry: true });
    forgetConversations(deps, ids);
    total += ids.length;
    if (ids.length < batch) break;
  }
  return total;
}

/**
 * Compacts the event logs of responses finished more than `hours` ago (never fewer than 24, contract §5): their
 * snapshot deltas are dropped and RESPONSE_CREATED, RESPONSE_IN_PROGRESS and the terminal event (which carries
 * the whole final response) are kept, so a replay still starts, ends and carries the final state; GET response
 * and the message lists read their own tables and do not change. `batch` responses per transaction, claimed with
 * SKIP LOCKED (several nodes at once take different ones); each is compacted once. Returns how many.
 */
export async function compactEventLogs(deps: CoreDeps, hours: number, opts: { batch?: number; maxBatches?: number } = {}): Promise<number> {
  const batch = opts.batch ?? 200;
  const cutoff = new Date(deps.now().getTime() - Math.max(hours, MIN_EVENT_LOG_HOURS) * 3_600_000);
  let total = 0;
  for (let i = 0; i < (opts.maxBatches ?? 20); i++) {
    const n = await deps.db.tx(async (q) => {
      const rows = await q.query<{ id: string }>(
        `SELECT id FROM responses
         WHERE NOT events_compacted AND completed_at < $1 AND status IN ('COMPLETED', 'FAILED')
         ORDER BY completed_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [cutoff, batch],
      );
      const ids = rows.map((r) => r.id);
      if (ids.length === 0) return 0;
      await q.query(`DELETE FROM response_events WHERE response_id = ANY($1::text[]) AND event_type = 'RESPONSE_OUTPUT_DELTA'`, [ids]);
      await q.query(`UPDATE responses SET events_compacted = true WHERE id = ANY($1::text[])`, [ids]);
      return ids.length;
    }, { retry: true });
    total += n;
    if (n < batch) break;
  }
  return total;
}
