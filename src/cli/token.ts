import type { Config } from '../config.ts';
import { signUserToken } from '../core/tokens.ts';
import { openDatabase } from '../store/db.ts';
import { resolve } from 'node:path';
import { deriveKeys, readOrCreateSecretRow, readSecretFile } from '../store/secrets.ts';

/**
 * A bearer for a user, signed like the server signs: with the configured secret, else the installation's
 * master secret (the data-dir file when embedded, so this works while the server holds the database).
 */
export async function mintToken(cfg: Config, opts: { user: string; name?: string | undefined; groups: string[]; ttl: number }): Promise<string> {
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
  const email = opts.user.includes('@') ? opts.user.toLowerCase() : undefined;
  return signUserToken(
    { hsKey, issuer: cfg.auth.issuer, audience: cfg.auth.audience },
    { sub: email ?? opts.user, email, name: opts.name, groups: opts.groups },
    opts.ttl,
  );
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
