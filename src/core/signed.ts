import { createHmac, timingSafeEqual } from 'node:crypto';

const MAC_BYTES = 16;

/** `base64url(json).base64url(hmac)`: opaque, integrity-protected tokens (cursors, callback ids). */
export function sealToken(key: Buffer, payload: unknown): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const mac = createHmac('sha256', key).update(body).digest().subarray(0, MAC_BYTES).toString('base64url');
  return `${body}.${mac}`;
}

/** The payload of a token sealed with `key`, or null when it is malformed, forged or tampered with. */
export function openToken(key: Buffer, token: string): unknown {
  if (typeof token !== 'string' || token.length > 2048) return null;
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return null;
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = createHmac('sha256', key).update(body).digest().subarray(0, MAC_BYTES);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}
