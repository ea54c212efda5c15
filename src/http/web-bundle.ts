import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The chat page's files, built in memory from `web/` by this install's own esbuild (no CDN, no network). */
export interface WebAssets {
  /** index.html with the hashed asset names filled in (the assistant name is added per request). */
  html: string;
  files: Map<string, { body: Buffer; type: string }>;
}

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const CLIENT_ENTRY = fileURLToPath(new URL('../client/index.ts', import.meta.url));

let cached: Promise<WebAssets> | null = null;

/** Builds once per process, on the first request for the page (tests that never open it pay nothing). */
export function webAssets(): Promise<WebAssets> {
  if (!cached) {
    cached = buildWeb();
    // A failed build is retried on the next request rather than cached forever.
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}

async function buildWeb(): Promise<WebAssets> {
  const result = await build({
    entryPoints: { app: `${WEB_DIR}main.ts` },
    outdir: '/out',
    write: false,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    alias: { 'parley/client': CLIENT_ENTRY },
    legalComments: 'none',
    logLevel: 'silent',
  });
  const files = new Map<string, { body: Buffer; type: string }>();
  const names: Record<string, string> = {};
  for (const f of result.outputFiles) {
    const ext = f.path.endsWith('.css') ? 'css' : 'js';
    const hash = createHash('sha256').update(f.contents).digest('hex').slice(0, 12);
    const name = `app.${hash}.${ext}`;
    names[ext] = name;
    files.set(name, { body: Buffer.from(f.contents), type: ext === 'css' ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' });
  }
  const template = await readFile(`${WEB_DIR}index.html`, 'utf8');
  const html = template.replace('{{APP_JS}}', `/web/${names['js']}`).replace('{{APP_CSS}}', `/web/${names['css']}`);
  return { html, files };
}
