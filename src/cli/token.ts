import type { Config } from '../config.ts';
import { mintSigninCode } from '../core/signin-links.ts';
import { signUserToken } from '../core/tokens.ts';
import { runningServer } from '../main.ts';
import { openDatabase } from '../store/db.ts';
import { resolve } from 'node:path';
import { deriveKeys, readOrCreateSecretRow, readSecretFile } from '../store/secrets.ts';

/**
 * A bearer for a user, signed like the server signs: with the configured secret, else the installation's
 * master secret (the data-dir file when embedded, so this works while the server holds the database).
 */
export async function mintToken(cfg: Config, opts: { user: string; name?: string | undefined; groups: string[]; ttl: number }): Promise<string> {
  const hsKey = await signingKey(cfg);
  const { sub, email } = subjectOf(opts.user);
  return signUserToken({ hsKey, issuer: cfg.auth.issuer, audience: cfg.auth.audience }, { sub, email, name: opts.name, groups: opts.groups }, opts.ttl);
}

/** An email names the user by that (lower-cased) address; anything else is a plain subject. */
function subjectOf(user: string): { sub: string; email: string | undefined } {
  const email = user.includes('@') ? user.toLowerCase() : undefined;
  return { sub: email ?? user, email };
}

/**
 * A one-time sign-in link for the chat page (`parley token --link`): the server's address, then the code in
 * the fragment, which browsers never send to a server; the page trades it for a session once.
 */
export async function mintSigninLink(cfg: Config, opts: { user: string; name?: string | undefined; groups: string[]; baseUrl?: string | undefined }): Promise<string> {
  const hsKey = await signingKey(cfg);
  const { sub, email } = subjectOf(opts.user);
  const code = mintSigninCode(hsKey, { sub, email, name: opts.name, groups: opts.groups });
  return `${(opts.baseUrl ?? serverUrl(cfg)).replace(/\/+$/, '')}/#signin=${code}`;
}

/** Where the page is: the running embedded server's address, else the configured host and port. */
function serverUrl(cfg: Config): string {
  const running = cfg.databaseUrl ? null : runningServer(cfg.dataDir);
  if (running) return running.url;
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  return `http://${host}:${cfg.port}`;
}

/** The HS256 key the server signs with (see mintToken). */
async function signingKey(cfg: Config): Promise<Uint8Array> {
  let hsKey: Uint8Array;
  if (cfg.auth.hsSecret) hsKey = new TextEncoder().encode(cfg.auth.hsSecret);
  else if (!cfg.databaseUrl) hsKey = deriveKeys(serverSecret(cfg.dataDir)).jwt;
  else {
    const db = await openDatabase({ url: cfg.databaseUrl, poolSize: 1 });
    try {
      const { migrate } = await import('../store/migrate.ts');
      await migrate(db);
      hsKey = deriveKeys(await readOrCreateSecretRow(db)).jwt;
    } finally {
      await db.close();
    }
  }
  return hsKey;
}

/**
 * The embedded server's master secret, read from its data dir. Never created here: a key invented by the CLI (run
 * in the wrong folder, say) would sign tokens the server rejects.
 */
function serverSecret(dataDir: string): string {
  const secret = readSecretFile(dataDir);
  if (!secret) {
    throw new Error(
      `no Parley data dir at ${resolve(dataDir)} (no secret.key): run this where the server runs, or set PARLEY_DATA_DIR ` +
        'to its data dir; start the server once first to create it',
    );
  }
  return secret;
}
