import { createHmac, randomBytes } from 'node:crypto';
import type { AskingUser } from '../assistant/engine.ts';
import type { Queryable } from '../store/db.ts';
import { openToken, sealToken } from './signed.ts';

/** How long a printed sign-in link stays valid. */
export const SIGNIN_LINK_TTL_SECONDS = 15 * 60;

interface LinkPayload {
  p: 'signin-link';
  jti: string;
  exp: number;
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
}

/**
 * The key of sign-in codes, derived from the token key (so the CLI, which can read that key while the server
 * holds the embedded database, can mint codes), but distinct from it: a code is never a bearer token.
 */
function linkKey(hsKey: Uint8Array): Buffer {
  return createHmac('sha256', hsKey).update('parley:signin-link').digest();
}

/** A one-time code naming a user: sealed (not stored), so minting needs no database. */
export function mintSigninCode(
  hsKey: Uint8Array,
  user: { sub: string; email?: string | undefined; name?: string | undefined; groups: string[] },
  nowMs = Date.now(),
): string {
  const payload: LinkPayload = {
    p: 'signin-link',
    jti: randomBytes(16).toString('base64url'),
    exp: Math.floor(nowMs / 1000) + SIGNIN_LINK_TTL_SECONDS,
    sub: user.sub,
    groups: user.groups,
  };
  if (user.email) payload.email = user.email;
  if (user.name) payload.name = user.name;
  return sealToken(linkKey(hsKey), payload);
}

/**
 * The user a code names, once: a forged, tampered, expired or already used code gives null. Single use is a
 * primary-key insert, so two nodes redeeming the same code at once cannot both succeed.
 */
export async function redeemSigninCode(db: Queryable, hsKey: Uint8Array, code: string, now: Date = new Date()): Promise<AskingUser | null> {
  const raw = openToken(linkKey(hsKey), code) as Partial<LinkPayload> | null;
  if (!raw || raw.p !== 'signin-link' || typeof raw.jti !== 'string' || typeof raw.exp !== 'number' || typeof raw.sub !== 'string') return null;
  if (raw.exp * 1000 <= now.getTime()) return null;
  await db.query(`DELETE FROM signin_link_uses WHERE expires_at < $1`, [now]);
  const inserted = await db.query<{ jti: string }>(
    `INSERT INTO signin_link_uses (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING RETURNING jti`,
    [raw.jti, new Date(raw.exp * 1000)],
  );
  if (inserted.length === 0) return null;
  const groups = Array.isArray(raw.groups) ? raw.groups.filter((g): g is string => typeof g === 'string') : [];
  return { id: raw.sub, email: typeof raw.email === 'string' ? raw.email : undefined, name: typeof raw.name === 'string' ? raw.name : undefined, groups };
}
