import type { Keys } from '../store/secrets.ts';
import { ApiError } from '../protocol/errors.ts';
import { openToken, sealToken } from './signed.ts';

/**
 * Keyset cursors: the position of the last item plus the scope they were issued for (list kind, user,
 * assistant, conversation), sealed with an HMAC. A cursor from another list or user is "foreign" → 400.
 */
export function encodeCursor(keys: Keys, scope: string, position: unknown[]): string {
  return sealToken(keys.cursor, { s: scope, p: position });
}

export function decodeCursor(keys: Keys, scope: string, cursor: string): unknown[] {
  const p = openToken(keys.cursor, cursor) as { s?: unknown; p?: unknown } | null;
  if (!p || p.s !== scope || !Array.isArray(p.p)) throw new ApiError('INVALID_CURSOR', 'cursor is invalid or does not belong to this list');
  return p.p;
}
