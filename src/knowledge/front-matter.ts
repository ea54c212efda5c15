/**
 * Front matter: YAML between `---` lines at the start of a file, parsed as data only. Front matter is hostile input
 * (anyone who can put a file in an ingested folder writes it), so no engine that runs code is ever used: gray-matter's
 * `---js` / `---coffee` engines evaluate JavaScript, and the CLI that ingests holds the master secret. A file that
 * asks for another language (`---js`, `---toml`, `;;;`, `+++`) is refused, not read as text.
 */
import { parseDocument as parseYaml } from 'yaml';
import { isRecord } from './parse-people.ts';

export interface FrontMatter {
  /** The key: value pairs, or null when the file has no front matter. */
  data: Record<string, unknown> | null;
  /** The file without its front matter. */
  body: string;
}

/** A problem with a file's front matter; the message never quotes the file. */
export class FrontMatterError extends Error {
  override name = 'FrontMatterError';
}

/** Opening lines other tools use for front matter in a language Parley does not read. */
const OTHER_OPENERS = [';;;', '+++'];

/**
 * Splits and parses front matter. Only `---` or `---yaml`/`---yml` open it, and only `---` or `...` on a line of their
 * own close it. The YAML is read with the core schema (strings, numbers, booleans, null, lists, maps: no custom tags,
 * no dates as objects, no code), a bounded number of alias expansions and unique keys.
 */
export function splitFrontMatter(raw: string): FrontMatter {
  const firstEnd = raw.indexOf('\n');
  const first = (firstEnd < 0 ? raw : raw.slice(0, firstEnd)).replace(/\r$/, '');
  const opener = first.trimEnd();
  if (OTHER_OPENERS.includes(opener)) throw new FrontMatterError(`front matter opened with ${opener} is not supported: only YAML between --- lines`);
  if (!opener.startsWith('---')) return { data: null, body: raw };
  const lang = opener.slice(3).trim().toLowerCase();
  if (/^-+$/.test(lang)) return { data: null, body: raw }; // a thematic break (-----), not front matter
  if (lang && lang !== 'yaml' && lang !== 'yml') {
    throw new FrontMatterError(`front matter language "${lang.slice(0, 20)}" is not allowed: only YAML front matter is read`);
  }
  if (firstEnd < 0) throw new FrontMatterError('front matter is not closed (no --- line after it)');
  // Find the closing line by scanning lines once (linear in the file).
  let pos = firstEnd + 1;
  let close = -1;
  let after = -1;
  while (pos <= raw.length) {
    const nl = raw.indexOf('\n', pos);
    const end = nl < 0 ? raw.length : nl;
    const line = raw.slice(pos, end).replace(/\r$/, '').trimEnd();
    if (line === '---' || line === '...') {
      close = pos;
      after = nl < 0 ? raw.length : nl + 1;
      break;
    }
    if (nl < 0) break;
    pos = nl + 1;
  }
  if (close < 0) throw new FrontMatterError('front matter is not closed (no --- line after it)');
  const yamlText = raw.slice(firstEnd + 1, close);
  const doc = parseYaml(yamlText, { schema: 'core', uniqueKeys: true, prettyErrors: false, strict: true });
  // Warnings too (an unknown tag such as !!js/function): refused rather than read as a plain string.
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    // The library's message carries a snippet of the file: report only where and what kind of error it is.
    const line = (problem.linePos?.[0]?.line ?? 0) + 1; // +1: the opening --- line
    throw new FrontMatterError(`invalid front matter: YAML error (${problem.code.toLowerCase().replace(/_/g, ' ')}) on line ${line}`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch {
    throw new FrontMatterError('invalid front matter: too many alias expansions');
  }
  if (data === null || data === undefined) return { data: {}, body: raw.slice(after) };
  if (!isRecord(data)) throw new FrontMatterError('invalid front matter: expected key: value pairs');
  return { data, body: raw.slice(after) };
}
