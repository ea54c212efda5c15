/** `parley ingest`: parse files, then apply them to the database or send them to a running server's admin endpoint. */
import cliProgress from 'cli-progress';
import { applyIngest, IngestRefused } from '../knowledge/ingest.ts';
import { parseSources, type ParseOptions } from '../knowledge/parse.ts';
import { crawlSite, siteCacheFile } from '../knowledge/site.ts';
import type { IngestChange, IngestPayload, IngestSummary, ParsedSources, SourceDocument, SourcePerson } from '../knowledge/sources.ts';
import type { Db } from '../store/db.ts';
import type { Embedder } from '../knowledge/embeddings.ts';

/** Request size per batch when sending to a server: well under the 1 MiB body limit, JSON overhead included. */
const BATCH_BYTES = 512 * 1024;
/** Entries per batch, so one request never holds the server's ingest lock for long. */
const BATCH_ITEMS = 200;

export interface IngestCommandOptions {
  path: string;
  assistant: string;
  prune: boolean;
  /** Allow a prune that removes more than half of the source. */
  force?: boolean | undefined;
  /** Print what would change; write nothing. */
  dryRun?: boolean | undefined;
  /** Who ingests, for the audit record. */
  actor?: string | undefined;
  /** Data dir under which a crawled site's validators are kept for conditional re-fetching. */
  siteCacheDir?: string | undefined;
  /** The assistant's `siteAccess` rules (URL prefix → access list) for crawled pages. */
  siteAccess?: readonly { prefix: string; access: readonly string[] }[] | undefined;
  /** How files are read: the assistant's document base URL, people column mappings (`--map`). */
  parse?: ParseOptions | undefined;
  target: { kind: 'db'; db: Db; embedder?: Embedder | undefined } | { kind: 'remote'; baseUrl: string; token: string };
  out: NodeJS.WritableStream;
  isTTY: boolean;
}

/**
 * `parley ingest`: parses the files (bad ones are reported by path and reason, the rest still load), applies
 * them to the database in one transaction or posts them in batches to a running server, shows progress on a
 * terminal, and ends with one summary line. Returns the process exit code (1 when any file failed).
 */
export async function runIngestCommand(opts: IngestCommandOptions): Promise<number> {
  const parsed = /^https?:\/\//i.test(opts.path)
    ? await crawlSite(opts.path, {
        cacheFile: opts.siteCacheDir && !opts.dryRun ? siteCacheFile(opts.siteCacheDir, opts.path) : undefined,
        access: opts.siteAccess,
      })
    : await parseSources(opts.path, opts.parse);
  if (parsed.fatal) {
    // A missing or unreadable source must never look like an empty one: that would prune everything it brought.
    opts.out.write(`cannot read ${parsed.fatal}; nothing was changed\n`);
    return 2;
  }
  const total = parsed.documents.length + parsed.people.length;
  const bar = opts.isTTY
    ? new cliProgress.SingleBar(
        { format: 'ingest [{bar}] {value}/{total} {what}', stream: opts.out as NodeJS.WriteStream, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(total, 0, { what: '' });
  let sum: IngestSummary;
  try {
    if (opts.target.kind === 'db') {
      sum = await applyIngest(
        opts.target.db,
        { ...common(opts), root: parsed.root, documents: parsed.documents, people: parsed.people, errors: parsed.errors },
        {
          onProgress: (done) => bar?.update(done, { what: parsed.documents[done - 1]?.path ?? '' }),
          embedder: opts.target.embedder,
          log: (msg) => process.stderr.write(`warning: ${msg}\n`),
        },
      );
    } else {
      sum = { added: 0, updated: 0, unchanged: 0, removed: 0, people: 0, peopleRemoved: 0, visibility: {}, errors: [], ...(opts.dryRun ? { changes: [] } : {}) };
      const payloads = batches(opts, parsed);
      let done = 0;
      for (const payload of payloads) {
        const r = await post(opts.target.baseUrl, opts.target.token, payload);
        sum.added += r.added;
        sum.updated += r.updated;
        sum.unchanged += r.unchanged;
        sum.removed += r.removed;
        sum.people += r.people;
        sum.peopleRemoved += r.peopleRemoved ?? 0;
        sum.changes?.push(...(r.changes ?? []));
        for (const [k, n] of Object.entries(r.visibility ?? {})) sum.visibility[k] = (sum.visibility[k] ?? 0) + n;
        sum.errors.push(...r.errors);
        done += payload.documents.length + payload.people.length;
        bar?.update(done, { what: payload.documents.at(-1)?.path ?? 'people' });
      }
    }
  } catch (err) {
    bar?.stop();
    if (err instanceof IngestRefused) {
      opts.out.write(`refused: ${err.message}; nothing was changed\n`);
      return 2;
    }
    throw err;
  } finally {
    bar?.stop();
  }
  for (const c of sum.changes ?? []) opts.out.write(changeLine(c) + '\n');
  for (const e of sum.errors) opts.out.write(`${e.path}: ${e.reason}\n`);
  for (const line of noticeLines(parsed.notices ?? [])) opts.out.write(line + '\n');
  const seen = visibilityLine(sum.visibility);
  if (seen) opts.out.write(seen + '\n');
  opts.out.write(summaryLine(sum) + '\n');
  return sum.errors.length ? 1 : 0;
}

/** Conversions one per line; skipped files of unsupported types on one line, by name. */
export function noticeLines(notices: { path: string; reason: string }[]): string[] {
  const skipped = notices.filter((n) => n.reason.startsWith('skipped:')).map((n) => n.path);
  const out = notices.filter((n) => !n.reason.startsWith('skipped:')).map((n) => `${n.path}: ${n.reason}`);
  if (skipped.length) out.push(`skipped ${skipped.length} file${skipped.length === 1 ? '' : 's'} of unsupported types: ${skipped.join(', ')}`);
  return out;
}

function common(opts: IngestCommandOptions) {
  return { assistant: opts.assistant, prune: opts.prune, force: opts.force, dryRun: opts.dryRun, actor: opts.actor };
}

/** `would add  it/vpn.md  https://kb…/vpn  (visible to: hr)` — one line of a dry run. */
export function changeLine(c: IngestChange): string {
  const who = c.access.length ? c.access.map((a) => (a === '*' ? 'everyone' : a)).join(', ') : '';
  return `would ${c.action.padEnd(6)} ${c.path}${c.url ? `  ${c.url}` : ''}${who ? `  (visible to: ${who})` : ''}${c.from ? `  (now from ${c.from})` : ''}`;
}

/**
 * `ingested 48 documents (3 added, 1 updated, 44 unchanged, 0 removed), 162 people (2 removed), 1 error`; a dry run
 * says `would ingest`.
 */
export function summaryLine(sum: IngestSummary): string {
  const docs = sum.added + sum.updated + sum.unchanged;
  return (
    `${sum.changes ? 'dry run: would ingest' : 'ingested'} ${docs} document${docs === 1 ? '' : 's'} (${sum.added} added, ${sum.updated} updated, ${sum.unchanged} unchanged, ${sum.removed} removed), ` +
    `${sum.people} people${sum.peopleRemoved ? ` (${sum.peopleRemoved} removed)` : ''}, ${sum.errors.length} error${sum.errors.length === 1 ? '' : 's'}`
  );
}

/** `visible to: everyone 40, hr 5, finance 3` (documents of this ingest by who can see them), or '' for none. */
export function visibilityLine(visibility: Record<string, number>): string {
  const entries = Object.entries(visibility).sort(([a, x], [b, y]) => (a === '*' ? -1 : b === '*' ? 1 : y - x || (a < b ? -1 : 1)));
  if (!entries.length) return '';
  return 'visible to: ' + entries.map(([k, n]) => `${k === '*' ? 'everyone' : k} ${n}`).join(', ');
}

/**
 * Splits an ingest into requests by size. Only the last one prunes, and it names every path and person id of the
 * whole ingest so that what earlier batches sent is kept.
 */
function batches(opts: IngestCommandOptions, parsed: ParsedSources): IngestPayload[] {
  const items: ({ kind: 'doc'; v: SourceDocument } | { kind: 'person'; v: SourcePerson })[] = [
    ...parsed.documents.map((v) => ({ kind: 'doc' as const, v })),
    ...parsed.people.map((v) => ({ kind: 'person' as const, v })),
  ];
  const out: IngestPayload[] = [];
  let cur: IngestPayload = fresh();
  let bytes = 0;
  function fresh(): IngestPayload {
    return { ...common(opts), root: parsed.root, prune: false, documents: [], people: [] };
  }
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item.v)) + 1;
    const count = cur.documents.length + cur.people.length;
    if (count > 0 && (bytes + size > BATCH_BYTES || count >= BATCH_ITEMS)) {
      out.push(cur);
      cur = fresh();
      bytes = 0;
    }
    if (item.kind === 'doc') cur.documents.push(item.v);
    else cur.people.push(item.v);
    bytes += size;
  }
  out.push(cur);
  const last = out[out.length - 1]!;
  last.prune = opts.prune;
  last.errors = parsed.errors;
  if (opts.prune) {
    last.keepPaths = parsed.documents.map((d) => d.path);
    // Without a directory in the sources, people are left alone (applyIngest prunes people only when given some).
    if (parsed.people.length) last.keepPeople = parsed.people.map((p) => p.id);
  }
  return out;
}

async function post(baseUrl: string, token: string, payload: IngestPayload): Promise<IngestSummary> {
  const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/admin/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  const body = (await res.json().catch(() => null)) as IngestSummary | { error?: { message?: string } } | null;
  if (!res.ok) {
    const message = (body as { error?: { message?: string } } | null)?.error?.message ?? 'no details';
    if (res.status === 409) throw new IngestRefused(message);
    throw new Error(`server refused the ingest (${res.status}): ${message}`);
  }
  return body as IngestSummary;
}
