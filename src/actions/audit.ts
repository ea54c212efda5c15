import { decodeCursor, encodeCursor } from '../core/cursors.ts';
import { iso, type CoreDeps } from '../core/deps.ts';
import type { PluginConfig } from './config.ts';
import { maskedInputs, maskSecrets } from './run.ts';
import { CONFIRM_TTL_MS, listCalls, type CallStatus } from './store.ts';

/** One record of GET /admin/v1/plugin-calls: who called what with which inputs (secrets masked), and how it went. */
export interface PluginCallRecord {
  call_id: string;
  assistant: string;
  user: string;
  plugin: string;
  inputs: Record<string, unknown>;
  status: CallStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  http_status: number | null;
  error: string | null;
  conversation_id: string | null;
  response_id: string | null;
  trace_id: string | null;
}

/** The audit, newest first, cursor-paginated; a confirmation left unanswered past its time reads EXPIRED. */
export async function pluginCallAudit(
  deps: CoreDeps,
  plugins: readonly PluginConfig[],
  opts: { assistant?: string | undefined; limit?: number | undefined; cursor?: string | undefined },
): Promise<{ calls: PluginCallRecord[]; metadata: { next_cursor: string | null } }> {
  const limit = opts.limit ?? 50;
  let beforeSeq: number | undefined;
  if (opts.cursor !== undefined) {
    const [seq] = decodeCursor(deps.keys, 'plugin-calls', opts.cursor);
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) throw new Error('unreachable: sealed cursor with a bad position');
    beforeSeq = seq;
  }
  const rows = await listCalls(deps.db, { assistant: opts.assistant, limit: limit + 1, beforeSeq });
  const now = deps.now();
  const page = rows.slice(0, limit);
  const calls = page.map((r): PluginCallRecord => {
    const plugin = plugins.find((p) => p.name === r.plugin);
    const expired = r.status === 'PENDING' && r.created_at.getTime() + CONFIRM_TTL_MS <= now.getTime();
    return {
      call_id: r.id,
      assistant: r.assistant,
      user: r.user_id,
      plugin: r.plugin,
      inputs: maskedInputs(plugin, r.inputs),
      status: expired ? 'EXPIRED' : r.status,
      created_at: iso(r.created_at),
      started_at: r.started_at ? iso(r.started_at) : null,
      finished_at: r.finished_at ? iso(r.finished_at) : null,
      duration_ms: r.duration_ms,
      http_status: r.http_status,
      error: r.error === null ? null : maskSecrets(plugin, r.error),
      conversation_id: r.conversation_id,
      response_id: r.response_id,
      trace_id: r.trace_id,
    };
  });
  const last = page[page.length - 1];
  return { calls, metadata: { next_cursor: rows.length > limit && last ? encodeCursor(deps.keys, 'plugin-calls', [Number(last.seq)]) : null } };
}
