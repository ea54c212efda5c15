/** The ingest audit: every applied ingest and prune, newest first (`GET /admin/v1/ingests`, `parley ingest --history`). */
import type { Db } from '../store/db.ts';

export interface IngestRecord {
  id: string;
  assistant: string;
  source: string;
  actor: string;
  at: string;
  prune: boolean;
  forced: boolean;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  people: number;
  peopleRemoved: number;
  errors: number;
  /** Ids of removed documents, and `person:<id>` for removed people. */
  removedIds: string[];
}

interface Row {
  id: string;
  assistant: string;
  source: string;
  actor: string;
  at: Date | string;
  prune: boolean;
  forced: boolean;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  people: number;
  people_removed: number;
  errors: number;
  removed_ids: string[];
}

export async function listIngests(db: Db, opts: { assistant?: string | undefined; limit?: number | undefined } = {}): Promise<IngestRecord[]> {
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const rows = await db.query<Row>(
    `SELECT * FROM kb_ingests WHERE ($1::text IS NULL OR assistant = $1) ORDER BY at DESC, id DESC LIMIT $2`,
    [opts.assistant ?? null, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    assistant: r.assistant,
    source: r.source,
    actor: r.actor,
    at: new Date(r.at).toISOString(),
    prune: r.prune,
    forced: r.forced,
    added: r.added,
    updated: r.updated,
    unchanged: r.unchanged,
    removed: r.removed,
    people: r.people,
    peopleRemoved: r.people_removed,
    errors: r.errors,
    removedIds: r.removed_ids ?? [],
  }));
}

/** One line per record for `parley ingest --history`. */
export function historyLine(r: IngestRecord): string {
  const what = `${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ${r.removed} removed; ${r.people} people${r.peopleRemoved ? ` (${r.peopleRemoved} removed)` : ''}`;
  return `${r.at}  ${r.actor}  ${r.assistant}  ${r.source}  ${r.prune ? (r.forced ? 'prune --force' : 'prune') : 'ingest'}  ${what}; ${r.errors} error${r.errors === 1 ? '' : 's'}` +
    (r.removedIds.length ? `\n    removed: ${r.removedIds.join(' ')}` : '');
}
