import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Queryable } from './db.ts';

const SECRET_FILE = 'secret.key';

/**
 * The master secret of an installation, from which the token, cursor and callback-id keys derive.
 * Embedded: a file in the data dir (so `parley token` can read it while the server holds the database).
 * PostgreSQL: a row of `settings`, so every node of a cluster agrees with no extra configuration.
 */
export function readOrCreateSecretFile(dataDir: string): string {
  const path = join(dataDir, SECRET_FILE);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(path, secret + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return secret;
}

/** Reads the secret file without creating it (for CLI commands that must not invent a second key). */
export function readSecretFile(dataDir: string): string | null {
  const path = join(dataDir, SECRET_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : null;
}

export async function readOrCreateSecretRow(db: Queryable): Promise<string> {
  const candidate = randomBytes(32).toString('base64url');
  await db.query(`INSERT INTO settings (name, value) VALUES ('master_secret', $1) ON CONFLICT (name) DO NOTHING`, [
    candidate,
  ]);
  const rows = await db.query<{ value: string }>(`SELECT value FROM settings WHERE name = 'master_secret'`);
  return rows[0]!.value;
}

/** Keys for each purpose, derived from the master secret so one leak does not give the others. */
export interface Keys {
  jwt: Uint8Array;
  cursor: Buffer;
  callback: Buffer;
}

export function deriveKeys(master: string): Keys {
  const derive = (purpose: string) => createHmac('sha256', master).update(`parley:${purpose}`).digest();
  return { jwt: new Uint8Array(derive('jwt-hs256')), cursor: derive('cursor'), callback: derive('feedback-callback') };
}
