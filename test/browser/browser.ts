import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Debian's chromium (installed by apt, never by `playwright install`). */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Launched {
  browser: BrowserContext;
  close(): Promise<void>;
}

/** A fresh headless chromium with its own user-data dir (persistent context: each run starts clean). */
export async function launch(opts: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}): Promise<Launched> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-chromium-'));
  const browser = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    colorScheme: opts.colorScheme ?? 'light',
    viewport: opts.viewport ?? { width: 1200, height: 800 },
  });
  // Nothing leaves this machine: any request to a host other than loopback fails at once (e.g. the web font
  // an identity provider's login page links to).
  await browser.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/]|\[::1\][:/])/, (route) => route.abort());
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type { Browser };
