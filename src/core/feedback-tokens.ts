import type { Keys } from '../store/secrets.ts';
import { openToken, sealToken } from './signed.ts';

export type Rating = 'HELPFUL' | 'UNHELPFUL';

/** Opaque, unguessable callback id bound to one message and one rating (contract §6). */
export function callbackIdFor(keys: Keys, messageId: string, rating: Rating): string {
  return sealToken(keys.callback, { m: messageId, r: rating === 'HELPFUL' ? 'h' : 'u' });
}

/** The message and rating a callback id names, or null when it is malformed or forged. */
export function readCallbackId(keys: Keys, callbackId: string): { messageId: string; rating: Rating } | null {
  const p = openToken(keys.callback, callbackId) as { m?: unknown; r?: unknown } | null;
  if (!p || typeof p.m !== 'string' || (p.r !== 'h' && p.r !== 'u')) return null;
  return { messageId: p.m, rating: p.r === 'h' ? 'HELPFUL' : 'UNHELPFUL' };
}
