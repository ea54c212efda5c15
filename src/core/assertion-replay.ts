/** jwt-bearer replay protection: an assertion's (issuer, jti) is accepted once, across every node. */
import type { Queryable } from '../store/db.ts';

/**
 * Records the jti; true when it was not seen before (or only in an assertion that has expired since).
 * `expiresAt` is the last moment the assertion could be accepted, so the row is kept exactly that long.
 */
export async function claimAssertionJti(db: Queryable, issuer: string, jti: string, expiresAt: Date): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO oauth_assertion_jtis (issuer, jti, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE oauth_assertion_jtis.expires_at < now()
     RETURNING 1 AS fresh`,
    [issuer, jti, expiresAt],
  );
  // Bounded clean-up on the way: expired rows can no longer block anything.
  await db.query(
    `DELETE FROM oauth_assertion_jtis WHERE (issuer, jti) IN
       (SELECT issuer, jti FROM oauth_assertion_jtis WHERE expires_at < now() ORDER BY expires_at LIMIT 100)`,
  );
  return rows.length === 1;
}
