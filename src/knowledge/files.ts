/**
 * Reading files of an ingested folder without leaving it: symbolic links are followed only when their target is
 * inside the folder, and errors name the file, never its contents.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

/** A file problem that is safe to show (names the file's path relative to the root, nothing of its contents). */
export class FileError extends Error {
  override name = 'FileError';
}

/** The folder being ingested, resolved through links once so containment checks compare real paths. */
export interface IngestRoot {
  /** Absolute path as given (resolved). */
  path: string;
  /** Real path (links resolved). */
  real: string;
}

export function openRoot(path: string): IngestRoot {
  return { path, real: realpathSync(path) };
}

function inside(root: IngestRoot, real: string): boolean {
  return real === root.real || real.startsWith(root.real.endsWith(sep) ? root.real : root.real + sep);
}

/**
 * Whether `file` may be read: a regular file, or a link whose target is a regular file inside the root. Returns
 * `'missing'` when there is no such file, throws FileError for a link that leaves the root or a non-file.
 */
export function checkReadable(root: IngestRoot, file: string): 'ok' | 'missing' {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return 'missing';
  }
  if (st.isSymbolicLink()) {
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      throw new FileError('symbolic link to a missing file');
    }
    if (!inside(root, real)) throw new FileError('symbolic link to outside the ingested folder: not followed');
    if (!statSync(real).isFile()) throw new FileError('symbolic link to something other than a file: not followed');
    return 'ok';
  }
  if (!st.isFile()) throw new FileError('not a regular file');
  return 'ok';
}

/** Reads a file of the root as bytes, refusing links out of it and files over `maxBytes`. */
export function readWithin(root: IngestRoot, file: string, maxBytes: number): Buffer {
  if (checkReadable(root, file) === 'missing') throw new FileError('no such file');
  const size = statSync(file).size;
  if (size > maxBytes) throw new FileError(`file is ${formatBytes(size)}, over the ${formatBytes(maxBytes)} limit for one file`);
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileError(code === 'EACCES' ? 'permission denied' : `cannot be read (${code ?? 'error'})`);
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} KiB`;
  return `${n} bytes`;
}

export interface ListedFile {
  full: string;
  /** Set when the entry cannot be read (a link out of the root, a linked folder): reported, never skipped silently. */
  problem?: string;
}

/** Files of a tree, sorted; hidden entries and `node_modules` skipped. Folders reached through links are not entered. */
export function listFiles(root: IngestRoot, dir: string = root.path): ListedFile[] {
  const out: ListedFile[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (dir === root.path) throw new FileError(code === 'EACCES' ? 'permission denied' : `cannot be listed (${code ?? 'error'})`);
    return [{ full: dir, problem: code === 'EACCES' ? 'folder: permission denied' : `folder cannot be listed (${code ?? 'error'})` }];
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(root, full));
    else if (entry.isFile()) out.push({ full });
    else if (entry.isSymbolicLink()) {
      let isDir = false;
      try {
        isDir = statSync(full).isDirectory();
      } catch {
        /* a dangling link: checkReadable reports it */
      }
      if (isDir) out.push({ full, problem: 'symbolic link to a folder: not followed' });
      else {
        try {
          checkReadable(root, full);
          out.push({ full });
        } catch (err) {
          out.push({ full, problem: (err as Error).message });
        }
      }
    }
  }
  return out;
}
