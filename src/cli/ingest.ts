import cliProgress from 'cli-progress';
import { applyIngest } from '../knowledge/ingest.ts';
import { parseSources } from '../knowledge/parse.ts';
import type { IngestPayload, IngestSummary, SourceDocument } from '../knowledge/sources.ts';
import type { Db } from '../store/db.ts';

/** Documents per request when sending to a running server (keeps each body well under the admin limit). */
const BATCH = 50;

export interface IngestCommandOptions {
  path: string;
  assistant: string;
  prune: boolean;
  target: { kind: 'db'; db: Db } | { kind: 'remote'; baseUrl: string; token: string };
  out: NodeJS.WritableStream;
  isTTY: boolean;
}

/**
 * `parley ingest`: parses the files (bad ones are reported by path and reason, the rest still load), applies
 * them to the database or posts them in batches to a running server, shows progress on a terminal, and ends
 * with one summary line. Returns the process exit code (1 when any file failed).
 */
export async function runIngestCommand(opts: IngestCommandOptions): Promise<number> {
  const parsed = parseSources(opts.path);
  const total = parsed.documents.length + (parsed.people.length ? 1 : 0);
  const bar = opts.isTTY
    ? new cliProgress.SingleBar({ format: 'ingest [{bar}] {value}/{total} {what}', stream: opts.out as NodeJS.WriteStream, hideCursor: true }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(total, 0, { what: '' });

  const batches: SourceDocument[][] = [];
  for (let i = 0; i < parsed.documents.length; i += BATCH) batches.push(parsed.documents.slice(i, i + BATCH));
  if (batches.length === 0) batches.push([]);
  const keepPaths = parsed.documents.map((d) => d.path);
  const sum: IngestSummary = { added: 0, updated: 0, unchanged: 0, removed: 0, people: 0, errors: [] };

  for (let i = 0; i < batches.length; i++) {
    const last = i === batches.length - 1;
    const payload: IngestPayload = {
      assistant: opts.assistant,
      root: parsed.root,
      // Only the last batch prunes, and it keeps what earlier batches sent.
      prune: opts.prune && last,
      documents: batches[i]!,
      people: last ? parsed.people : [],
      keepPaths,
      ...(last ? { errors: parsed.errors } : {}),
    };
    const result = opts.target.kind === 'db' ? await applyIngest(opts.target.db, payload) : await post(opts.target.baseUrl, opts.target.token, payload);
    sum.added += result.added;
    sum.updated += result.updated;
    sum.unchanged += result.unchanged;
    sum.removed += result.removed;
    sum.people += result.people;
    sum.errors.push(...result.errors);
    bar?.increment(batches[i]!.length + (last && parsed.people.length ? 1 : 0), { what: batches[i]![0]?.path ?? '' });
  }
  bar?.stop();
  for (const e of sum.errors) opts.out.write(`${e.path}: ${e.reason}\n`);
  const docs = sum.added + sum.updated + sum.unchanged;
  opts.out.write(
    `ingested ${docs} document${docs === 1 ? '' : 's'} (${sum.added} added, ${sum.updated} updated, ${sum.unchanged} unchanged, ${sum.removed} removed), ` +
      `${sum.people} people, ${sum.errors.length} error${sum.errors.length === 1 ? '' : 's'}\n`,
  );
  return sum.errors.length ? 1 : 0;
}

async function post(baseUrl: string, token: string, payload: IngestPayload): Promise<IngestSummary> {
  const res = await fetch(`${baseUrl}/admin/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  const body = (await res.json().catch(() => null)) as IngestSummary | { error?: { message?: string } } | null;
  if (!res.ok) throw new Error(`server refused the ingest (${res.status}): ${(body as { error?: { message?: string } })?.error?.message ?? 'no details'}`);
  return body as IngestSummary;
}
