/**
 * Client secrets of the token endpoint are stored as slow salted hashes: `scrypt:<salt>:<hash>` (base64url,
 * N=2^14, r=8, p=1, 32-byte key: about 16 MiB and tens of milliseconds per check, run off the event loop).
 * The older unsalted `sha256:<hex>` form still verifies, so existing configurations keep working, but it is
 * reported as weak so operators replace it (`parley hash-secret`).
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const PARAMS: ScryptOptions = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

function scrypt(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(secret, salt, KEY_LENGTH, PARAMS, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new `scrypt:` hash of `secret` with a random salt. */
export async function hashClientSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt);
  return `scrypt:${salt.toString('base64url')}:${key.toString('base64url')}`;
}

export interface SecretCheck {
  ok: boolean;
  /** The stored hash is the unsalted legacy form. */
  weak: boolean;
}

/** Compares in constant time. A malformed stored hash never matches. */
export async function verifyClientSecret(secret: string, stored: string): Promise<SecretCheck> {
  if (stored.startsWith('sha256:')) {
    const want = Buffer.from(stored.slice(7), 'hex');
    const got = createHash('sha256').update(secret).digest();
    return { ok: want.length === got.length && timingSafeEqual(want, got), weak: true };
  }
  const m = /^scrypt:([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return { ok: false, weak: false };
  const want = Buffer.from(m[2]!, 'base64url');
  const got = await scrypt(secret, Buffer.from(m[1]!, 'base64url'));
  return { ok: want.length === got.length && timingSafeEqual(want, got), weak: false };
}

/** The same work as a real check, for unknown client ids: response time does not tell which ids exist. */
export async function burnSecretCheck(secret: string): Promise<void> {
  await scrypt(secret, Buffer.alloc(16));
}
