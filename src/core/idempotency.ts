import { createHash } from 'node:crypto';
import { ApiError } from '../protocol/errors.ts';
import type { CoreDeps } from './deps.ts';

const TTL_MS = 24 * 3600 * 1000;
/** A claim older than this with no result is taken to belong to a crashed writer and may be taken over. */
const STALE_CLAIM_MS = 60 * 1000;

export type IdempotentResult<T> = { status: number; body: T };

/**
 * Runs `work` at most once per (user, key, operation) within 24 h (contract §2): same body → the original
 * result; different body → 422; a duplicate while the first is still being written → 409.
 */
export async function withIdempotency<T>(
  deps: CoreDeps,
  userId: string,
  key: string | undefined,
  operation: string,
  request: unknown,
  work: () => Promise<IdempotentResult<T>>,
): Promise<IdempotentResult<T> & { replayed: boolean }> {
  if (key === undefined) return { ...(await work()), replayed: false };
  if (key.length < 1 || key.length > 255) throw new ApiError('INVALID_INPUT', 'Idempotency-Key must be 1-255 characters');
  const hash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  const now = deps.now();
  const claimed = await deps.db.query(
    `INSERT INTO idempotency_keys (user_id, key, operation, request_hash, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (user_id, key, operation) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at, status_code = NULL, body = NULL
       WHERE idempotency_keys.created_at < $6
          OR (idempotency_keys.status_code IS NULL AND idempotency_keys.created_at < $7)
     RETURNING key`,
    [userId, key, operation, hash, now, new Date(now.getTime() - TTL_MS), new Date(now.getTime() - STALE_CLAIM_MS)],
  );
  if (claimed.length === 0) {
    const rows = await deps.db.query<{ request_hash: string; status_code: number | null; body: T }>(
      `SELECT request_hash, status_code, body FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND operation = $3`,
      [userId, key, operation],
    );
    const row = rows[0];
    if (!row) throw new ApiError('CONFLICT', 'a request with this Idempotency-Key is in progress');
    if (row.request_hash !== hash) {
      throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request');
    }
    if (row.status_code === null) throw new ApiError('CONFLICT', 'a request with this Idempotency-Key is in progress');
    return { status: row.status_code, body: row.body, replayed: true };
  }
  try {
    const result = await work();
    await deps.db.query(`UPDATE idempotency_keys SET status_code = $4, body = $5 WHERE user_id = $1 AND key = $2 AND operation = $3`, [
      userId,
      key,
      operation,
      result.status,
      JSON.stringify(result.body),
    ]);
    return { ...result, replayed: false };
  } catch (err) {
    // Nothing was created: release the key so the client may retry with it.
    await deps.db.query(`DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND operation = $3`, [userId, key, operation]);
    throw err;
  }
}
