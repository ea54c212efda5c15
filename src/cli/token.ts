import type { Config } from '../config.ts';
import { signUserToken } from '../core/tokens.ts';
import { openDatabase } from '../store/db.ts';
import { deriveKeys, readOrCreateSecretFile, readOrCreateSecretRow } from '../store/secrets.ts';

/**
 * A bearer for a user, signed like the server signs: with the configured secret, else the installation's
 * master secret (the data-dir file when embedded, so this works while the server holds the database).
 */
export async function mintToken(cfg: Config, opts: { user: string; name?: string | undefined; groups: string[]; ttl: number }): Promise<string> {
  let hsKey: Uint8Array;
  if (cfg.auth.hsSecret) hsKey = new TextEncoder().encode(cfg.auth.hsSecret);
  else if (!cfg.databaseUrl) hsKey = deriveKeys(readOrCreateSecretFile(cfg.dataDir)).jwt;
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
