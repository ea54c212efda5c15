/**
 * Layer 1 of ingestion: reads files into plain JSON (documents, people, errors) without touching a database, so
 * the CLI can parse on one machine and a running server can apply the result.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, relative, resolve, sep } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { FileError, listFiles, openRoot, type IngestRoot } from './files.ts';
import { DOC_EXT, MAX_FILE_BYTES, parseDocument, parseJson, readText, type ParseOptions } from './parse-document.ts';
import { finishPeople, isRecord, peopleFromRows, unrecognisedColumns, type RawPerson } from './parse-people.ts';
import type { ParsedSources, SourceError } from './sources.ts';

export { UNLINKED_DOCUMENT_PREFIX, MAX_FILE_BYTES, parseDocument, textToMarkdown, titleFromBody, type ParseOptions } from './parse-document.ts';

/** Parses a file or a directory tree (hidden files and `node_modules` skipped). Never throws for a bad file. */
export async function parseSources(path: string, opts: ParseOptions = {}): Promise<ParsedSources> {
  const given = resolve(path);
  const out: ParsedSources = { root: given, documents: [], people: [], errors: [], notices: [] };
  const notices = out.notices!;
  if (!existsSync(given)) {
    out.errors.push({ path, reason: 'no such file or directory' });
    out.fatal = `${path}: no such file or directory`;
    return out;
  }
  const isDir = statSync(given).isDirectory();
  // A single file's folder is its root: links from it are followed only within that folder.
  const root: IngestRoot = openRoot(isDir ? given : dirname(given));
  let files: { full: string; problem?: string | undefined }[];
  try {
    files = isDir ? listFiles(root) : [{ full: given }];
  } catch (err) {
    out.errors.push({ path, reason: reasonOf(err) });
    out.fatal = `${path}: ${reasonOf(err)}`;
    return out;
  }
  // A folder that cannot be listed hides files whose documents a prune would otherwise remove.
  const unlisted = files.find((f) => f.problem?.startsWith('folder'));
  if (unlisted) out.fatal = `${relative(root.path, unlisted.full) || path}: ${unlisted.problem}`;
  const people: RawPerson[] = [];
  const maxBytes = opts.maxFileBytes ?? MAX_FILE_BYTES;
  for (const { full: file, problem } of files) {
    const rel = relative(root.path, file).split(sep).join('/');
    const ext = extname(file).toLowerCase();
    if (problem) {
      out.errors.push({ path: rel, reason: problem });
      continue;
    }
    if (file.endsWith('.meta.json')) continue; // sidecars are read with their document
    try {
      if (DOC_EXT[ext]) {
        out.documents.push(await parseDocument(root, file, rel, DOC_EXT[ext], opts, notices));
      } else if (ext === '.csv') {
        const rows = readCsv(readText(root, file, maxBytes, rel, notices));
        noteColumns(rows, rel, opts, notices);
        people.push(...peopleFromRows(rows, rel, opts.columnMap));
      } else if (ext === '.json') {
        const data = parseJson(readText(root, file, maxBytes, rel, notices));
        const rows = Array.isArray(data) ? data : isRecord(data) && Array.isArray(data['people']) ? data['people'] : null;
        if (!rows) throw new Error('JSON people directory must be an array of people or {"people": [...]}');
        noteColumns(rows as Record<string, unknown>[], rel, opts, notices);
        people.push(...peopleFromRows(rows as Record<string, unknown>[], rel, opts.columnMap));
      } else if (isDir) {
        // Other files in a tree (images, spreadsheets) are not ours to read, but never skipped without a word.
        notices.push({ path: rel, reason: `skipped: ${ext ? `${ext} files are` : 'files without an extension are'} not a supported format` });
      } else {
        throw new Error(`unsupported file type ${ext || '(none)'}`);
      }
    } catch (err) {
      out.errors.push({ path: rel, reason: reasonOf(err) });
    }
  }
  const { people: resolved, errors } = finishPeople(people);
  out.people = resolved;
  out.errors.push(...errors);
  return out;
}

function readCsv(text: string): Record<string, unknown>[] {
  try {
    return parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: true }) as Record<string, unknown>[];
  } catch (err) {
    // csv-parse messages may quote a field: report the kind of error and the line only.
    const e = err as { code?: string; lines?: number };
    throw new FileError(`invalid CSV${e.code ? ` (${e.code.toLowerCase().replace(/^csv_/, '').replace(/_/g, ' ')})` : ''}${e.lines ? ` on line ${e.lines}` : ''}`);
  }
}


function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function noteColumns(rows: Record<string, unknown>[], rel: string, opts: ParseOptions, notices: SourceError[]): void {
  const cols = unrecognisedColumns(rows, opts.columnMap);
  if (cols.length) {
    notices.push({ path: rel, reason: `columns not read: ${cols.map((c) => JSON.stringify(c)).join(', ')} (read one with --map "Column=field")` });
  }
}
