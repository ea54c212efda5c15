/**
 * A web site as a source: `parley ingest https://intranet.example.com/kb/` crawls from the start URL (or the pages a
 * sitemap lists), staying on the start URL's origin and under its path, honouring robots.txt, and turns each HTML
 * page into a document (its url is the page's address, so identity and prune work as for folders: the start URL is
 * the source). Bounded: pages, bytes per page, time per request.
 *
 * Sources share one shape — something that yields `ParsedSources` — so another (a wiki's API, a drive) plugs into
 * `runIngestCommand` the same way: see `Source` below.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { htmlToMarkdown } from './html.ts';
import { mergeMetadata, metaTagsToRaw, readMetadata } from './metadata.ts';
import { parseAccessList } from './principals.ts';
import type { ParsedSources, SourceDocument } from './sources.ts';

/** A place documents come from. `id` names the source (what it owns and what `--prune` is scoped to). */
export interface Source {
  id: string;
  read(): Promise<ParsedSources>;
}

export interface CrawlOptions {
  /** Pages fetched at most (default 500). */
  maxPages?: number;
  /** Bytes read of one page at most (default 5 MiB). */
  maxBytes?: number;
  /** Milliseconds per request (default 15 s). */
  timeoutMs?: number;
  /** User-agent sent, and matched against robots.txt groups. */
  userAgent?: string;
  /**
   * Where validators (ETag, Last-Modified) and the parsed page of the last crawl are kept: a re-run asks with
   * If-None-Match / If-Modified-Since and reuses the page on 304 Not Modified.
   */
  cacheFile?: string | undefined;
  /**
   * Access lists by URL prefix, from the assistant's configuration (`siteAccess`): the longest matching prefix
   * decides, over the page's own `<meta>` access — the operator's mapping is authoritative.
   */
  access?: readonly { prefix: string; access: readonly string[] }[] | undefined;
}

interface CachedPage {
  etag?: string | undefined;
  lastModified?: string | undefined;
  doc: SourceDocument;
  links: string[];
}

function loadCache(file: string | undefined): Map<string, CachedPage> {
  if (!file || !existsSync(file)) return new Map();
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, CachedPage>;
    return new Map(Object.entries(data));
  } catch {
    return new Map(); // a damaged cache only costs full fetches
  }
}

function saveCache(file: string | undefined, pages: Map<string, CachedPage>): void {
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(Object.fromEntries(pages)));
  renameSync(tmp, file);
}

/** The cache file of a site source under a data dir. */
export function siteCacheFile(dataDir: string, start: string): string {
  return join(dataDir, 'site-cache', createHash('sha256').update(new URL(start).href).digest('hex').slice(0, 32) + '.json');
}

const AGENT = 'parley-ingest';

export function siteSource(start: string, opts: CrawlOptions = {}): Source {
  return { id: new URL(start).href, read: () => crawlSite(start, opts) };
}

export async function crawlSite(start: string, opts: CrawlOptions = {}): Promise<ParsedSources> {
  const startUrl = new URL(start);
  startUrl.hash = '';
  const out: ParsedSources = { root: startUrl.href, documents: [], people: [], errors: [], notices: [] };
  const maxPages = opts.maxPages ?? 500;
  const agent = opts.userAgent ?? AGENT;
  // Pages under the start URL's folder (a sitemap's folder): `/kb/` or `/kb/index.html` → `/kb/`.
  const scope = startUrl.pathname.replace(/[^/]*$/, '');
  const robots = await fetchRobots(startUrl, agent, opts);
  const cache = loadCache(opts.cacheFile);
  const fresh = new Map<string, CachedPage>();
  let revalidated = 0;
  const inScope = (u: URL) => u.origin === startUrl.origin && u.pathname.startsWith(scope) && robots(u.pathname);

  const queue: string[] = [];
  const seen = new Set<string>();
  const enqueue = (u: URL) => {
    u.hash = '';
    if (!/^https?:$/.test(u.protocol) || seen.has(u.href) || !inScope(u)) return;
    seen.add(u.href);
    queue.push(u.href);
  };
  if (startUrl.pathname.endsWith('.xml')) {
    const res = await get(startUrl.href, agent, opts);
    if (!res || !res.ok) {
      out.fatal = `${startUrl.href}: sitemap not readable (${res ? res.status : 'no answer'})`;
      return out;
    }
    for (const m of res.text.matchAll(/<loc>\s*([^<\s]+)\s*<\/loc>/g)) {
      try {
        enqueue(new URL(m[1]!.replace(/&amp;/g, '&')));
      } catch {
        /* not a URL: ignored */
      }
    }
  } else if (!robots(startUrl.pathname)) {
    out.fatal = `${startUrl.href}: robots.txt does not allow crawling it`;
    return out;
  } else {
    enqueue(new URL(startUrl.href));
  }

  let first = true;
  while (queue.length && out.documents.length + out.errors.length < maxPages) {
    const href = queue.shift()!;
    const cached = cache.get(href);
    const res = await get(href, agent, opts, cached);
    const path = new URL(href).pathname + new URL(href).search;
    if (!res) {
      if (first) out.fatal = `${href}: no answer`;
      out.errors.push({ path, reason: 'no answer (connection failed or timed out)' });
      first = false;
      continue;
    }
    if (first && !res.ok && !(res.status === 304 && cached)) {
      // The start page itself failing is like a missing folder: nothing may be pruned on its account.
      out.fatal = `${href}: HTTP ${res.status}`;
      return out;
    }
    first = false;
    if (res.status === 304 && cached) {
      revalidated++;
      fresh.set(href, cached);
      out.documents.push(cached.doc);
      for (const link of cached.links) {
        try {
          enqueue(new URL(link, href));
        } catch {
          /* ignored */
        }
      }
      continue;
    }
    if (res.status === 404 || res.status === 410) continue; // gone: pruned like a deleted file
    if (!res.ok) {
      out.errors.push({ path, reason: `HTTP ${res.status}` });
      continue;
    }
    if (!/^text\/html|^application\/xhtml\+xml/i.test(res.type)) {
      out.notices!.push({ path, reason: `skipped: ${res.type || 'unknown'} is not a supported format` });
      continue;
    }
    if (res.truncated) {
      out.errors.push({ path, reason: `page is over the ${Math.round((opts.maxBytes ?? 5 * 1024 * 1024) / 1024 / 1024)} MiB limit` });
      continue;
    }
    try {
      const h = htmlToMarkdown(res.text);
      for (const link of h.links) {
        try {
          enqueue(new URL(link, res.url));
        } catch {
          /* malformed link: ignored */
        }
      }
      const meta = mergeMetadata(readMetadata(metaTagsToRaw(h.meta.filter((m) => m.name !== 'canonical')), '<meta> tags'));
      if (!h.markdown) throw new Error('empty page');
      const doc: SourceDocument = {
        path,
        format: 'html',
        title: (typeof meta.title === 'string' || typeof meta.title === 'number' ? String(meta.title) : h.title) ?? path,
        url: res.url.replace(/#.*$/, ''),
        updatedAt: res.lastModified ? new Date(res.lastModified).toISOString() : null,
        access: accessFor(res.url, opts.access) ?? (meta.access === undefined ? ['*'] : parseAccessList(typeof meta.access === 'string' ? meta.access.split(/[,;]/) : meta.access)),
        tags: meta.tags === undefined ? [] : (typeof meta.tags === 'string' ? meta.tags.split(',') : meta.tags).map((t) => String(t).trim()).filter(Boolean),
        body: h.markdown,
      };
      if (Number.isNaN(Date.parse(doc.updatedAt ?? ''))) doc.updatedAt = null;
      out.documents.push(doc);
      if (res.etag || res.lastModified) fresh.set(href, { etag: res.etag ?? undefined, lastModified: res.lastModified ?? undefined, doc, links: h.links });
    } catch (err) {
      out.errors.push({ path, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  if (queue.length) out.notices!.push({ path: startUrl.href, reason: `stopped after ${maxPages} pages; ${queue.length} more not read` });
  if (revalidated) out.notices!.push({ path: startUrl.href, reason: `${revalidated} page${revalidated === 1 ? '' : 's'} not modified since the last crawl (reused)` });
  saveCache(opts.cacheFile, fresh);
  return out;
}

function accessFor(url: string, rules: CrawlOptions['access']): string[] | null {
  let best: { prefix: string; access: readonly string[] } | null = null;
  for (const r of rules ?? []) if (url.startsWith(r.prefix) && (!best || r.prefix.length > best.prefix.length)) best = r;
  return best ? parseAccessList(best.access) : null;
}

interface Fetched {
  ok: boolean;
  status: number;
  url: string;
  type: string;
  text: string;
  truncated: boolean;
  lastModified: string | null;
  etag: string | null;
}

async function get(href: string, agent: string, opts: CrawlOptions, cached?: CachedPage): Promise<Fetched | null> {
  const maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
  const headers: Record<string, string> = { 'user-agent': agent, accept: 'text/html,application/xhtml+xml,text/plain,application/xml;q=0.9' };
  if (cached?.etag) headers['if-none-match'] = cached.etag;
  if (cached?.lastModified) headers['if-modified-since'] = cached.lastModified;
  try {
    const res = await fetch(href, { headers, redirect: 'follow', signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
    const chunks: Uint8Array[] = [];
    let size = 0;
    let truncated = false;
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > maxBytes) {
          truncated = true;
          break;
        }
        chunks.push(chunk);
      }
    }
    const text = new TextDecoder('utf-8').decode(Buffer.concat(chunks));
    return { ok: res.ok, status: res.status, url: res.url || href, type: res.headers.get('content-type') ?? '', text, truncated, lastModified: res.headers.get('last-modified'), etag: res.headers.get('etag') };
  } catch {
    return null;
  }
}

/** robots.txt rules for `agent` (or `*`): longest matching Allow/Disallow prefix wins; no file allows everything. */
async function fetchRobots(start: URL, agent: string, opts: CrawlOptions): Promise<(path: string) => boolean> {
  const res = await get(new URL('/robots.txt', start.origin).href, agent, { ...opts, maxBytes: 512 * 1024 });
  if (!res || !res.ok) return () => true;
  const groups: { agents: string[]; rules: { allow: boolean; path: string }[] }[] = [];
  let cur: (typeof groups)[number] | null = null;
  let lastWasAgent = false;
  for (const raw of res.text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (key === 'user-agent') {
      if (!cur || !lastWasAgent) groups.push((cur = { agents: [], rules: [] }));
      cur.agents.push(value.toLowerCase());
      lastWasAgent = true;
    } else {
      lastWasAgent = false;
      if (cur && (key === 'allow' || key === 'disallow') && value) cur.rules.push({ allow: key === 'allow', path: value });
    }
  }
  const mine = groups.find((g) => g.agents.some((a) => a !== '*' && agent.toLowerCase().includes(a))) ?? groups.find((g) => g.agents.includes('*'));
  const rules = mine?.rules ?? [];
  return (path: string) => {
    let best: { allow: boolean; path: string } | null = null;
    for (const r of rules) {
      const prefix = r.path.replace(/\*.*$/, '').replace(/\$$/, '');
      if (path.startsWith(prefix) && (!best || prefix.length > best.path.length)) best = { allow: r.allow, path: prefix };
    }
    return best ? best.allow : true;
  };
}
