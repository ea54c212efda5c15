/**
 * Document metadata, one schema for every place it can come from: YAML front matter (Markdown, text and HTML files),
 * `<file>.meta.json` sidecars and HTML `<meta>` tags. It fails closed: a key that is not in the schema (say a
 * misspelled `acess:`) refuses the whole file, by path and key, instead of silently dropping an access list and
 * publishing the page to everyone.
 */
import { z } from 'zod';

/** The keys of the schema. Aliases below map other common spellings onto them. */
export const METADATA_KEYS = ['id', 'title', 'url', 'updated', 'access', 'tags', 'description', 'author', 'lang'] as const;
export type MetadataKey = (typeof METADATA_KEYS)[number];

/** Accepted spellings of each key (the key itself first). Matching is exact: `Title` is not `title`. */
export const METADATA_ALIASES: Record<MetadataKey, string[]> = {
  id: ['id'],
  title: ['title', 'name'],
  url: ['url', 'link', 'source_url', 'permalink', 'canonical'],
  updated: ['updated', 'updated_at', 'updatedAt', 'last_updated', 'lastUpdated', 'modified', 'date'],
  access: ['access', 'access_list', 'accessList', 'acl', 'allowed', 'visibility', 'principals', 'groups', 'audience'],
  tags: ['tags', 'keywords'],
  description: ['description', 'summary'],
  author: ['author', 'authors'],
  lang: ['lang', 'language'],
};

const ALIAS_TO_KEY = new Map<string, MetadataKey>(
  METADATA_KEYS.flatMap((k) => METADATA_ALIASES[k].map((a) => [a, k] as [string, MetadataKey])),
);

const scalar = z.union([z.string(), z.number()]);
const list = z.union([z.string(), z.array(scalar)]);

/** The canonical metadata after aliases are resolved. `strictObject`: anything else is an error. */
const metadataSchema = z.strictObject({
  id: scalar.optional(),
  title: scalar.optional(),
  url: z.string().optional(),
  updated: z.union([z.string(), z.number(), z.date()]).optional(),
  access: list.optional(),
  tags: list.optional(),
  description: z.string().optional(),
  author: list.optional(),
  lang: z.string().optional(),
});

export type Metadata = z.infer<typeof metadataSchema>;

/** A metadata problem: names the source and the key, never the value. */
export class MetadataError extends Error {
  override name = 'MetadataError';
}

/**
 * Resolves aliases and validates one source's key: value pairs. `where` names the source in errors ("front matter",
 * "sidecar x.meta.json", "<meta> tag"). Null and empty values count as absent.
 */
export function readMetadata(raw: Record<string, unknown>, where: string): Metadata {
  const canonical: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const key = ALIAS_TO_KEY.get(name);
    if (!key) throw new MetadataError(`${where}: unknown key "${printable(name)}"${suggest(name)}; the file was not ingested (known keys: ${METADATA_KEYS.join(', ')})`);
    if (value === null || value === undefined || value === '') continue;
    if (from[key] !== undefined) throw new MetadataError(`${where}: "${from[key]}" and "${name}" both give ${key}; keep one`);
    from[key] = name;
    canonical[key] = value;
  }
  const parsed = metadataSchema.safeParse(canonical);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw new MetadataError(`${where}: "${from[key] ?? key}" has the wrong type (${describeExpected(key)})`);
  }
  return parsed.data;
}

/** Later sources override earlier ones key by key (HTML `<meta>` < front matter < sidecar). */
export function mergeMetadata(...sources: Metadata[]): Metadata {
  return Object.assign({}, ...sources) as Metadata;
}

function describeExpected(key: string): string {
  switch (key) {
    case 'access':
    case 'tags':
    case 'author':
      return 'a list or a comma-separated string';
    case 'updated':
      return 'a date';
    default:
      return 'text';
  }
}

/** Names in HTML `<meta>` that belong to web vocabularies, not to Parley: ignored when not one of our keys. */
const WEB_META_PREFIXES = ['og', 'twitter', 'fb', 'article', 'al', 'dc', 'dcterms', 'profile', 'book', 'music', 'video', 'msapplication', 'apple', 'google', 'itemprop'];
/** Standard un-namespaced `<meta name>` values of web pages: not metadata for Parley. */
const WEB_META_NAMES = new Set([
  'viewport', 'generator', 'robots', 'googlebot', 'bingbot', 'theme-color', 'color-scheme', 'referrer', 'application-name',
  'format-detection', 'creator', 'publisher', 'rating', 'copyright', 'handheldfriendly', 'mobileoptimized',
  'mobile-web-app-capable', 'apple-mobile-web-app-capable', 'apple-mobile-web-app-title', 'apple-mobile-web-app-status-bar-style',
  'google-site-verification', 'msvalidate.01', 'yandex-verification', 'csrf-token', 'csrf-param', 'revisit-after', 'subject',
]);

/**
 * HTML `<meta name|property>` pairs → front-matter-like key: value pairs. A namespaced name (`kb:updated`,
 * `acme:access`, `og:url`) counts by its last part. Standard page metadata (viewport, og:type, twitter:card…) is
 * ignored; any other name that is not a key of the schema is kept as is, so that `readMetadata` refuses it.
 */
export function metaTagsToRaw(tags: { name: string; content: string }[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new Set<MetadataKey>();
  for (const { name: full, content } of tags) {
    const name = full.trim();
    if (!name) continue;
    const m = /^(.*)[:.]([^:.]+)$/.exec(name);
    const prefix = m ? m[1]!.toLowerCase() : '';
    const last = m ? m[2]! : name;
    const lower = last.toLowerCase();
    const key = ALIAS_TO_KEY.get(last) ?? ALIAS_TO_KEY.get(lower);
    const webVocab = prefix && WEB_META_PREFIXES.some((p) => prefix === p || prefix.startsWith(p + ':'));
    if (key) {
      // Pages often say the same thing twice (og:title and twitter:title): the first wins.
      if (seen.has(key)) continue;
      if (webVocab && (key === 'access' || key === 'id')) continue; // never take an access list from a web vocabulary
      seen.add(key);
      out[key] = content;
      continue;
    }
    if (webVocab || (!prefix && WEB_META_NAMES.has(name.toLowerCase())) || /^(msapplication|apple|google)-/i.test(name)) continue;
    out[name] = content; // unknown: refused by readMetadata, naming it
  }
  return out;
}

/** A key as printed in an error: bounded and without control characters. */
function printable(name: string): string {
  const s = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > 60 ? s.slice(0, 60) + '…' : s;
}

/** ` (did you mean "access"?)` for a key within two edits of a known spelling. */
function suggest(name: string): string {
  if (name.length > 40) return '';
  let best: string | null = null;
  let bestD = 3;
  for (const alias of ALIAS_TO_KEY.keys()) {
    const d = editDistance(name.toLowerCase(), alias.toLowerCase(), bestD);
    if (d < bestD) {
      best = alias;
      bestD = d;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

/** Levenshtein distance, giving up (returning `cap`) once it is at least `cap`. Inputs are short (≤ 40). */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return Math.min(prev[b.length]!, cap);
}
