/**
 * Telling "the database cannot be reached right now" from every other database error: the first is retried where
 * that is safe and otherwise answered 503 SERVICE_UNAVAILABLE; the second is a bug or bad data.
 */

/** Thrown by the Db seam when the database could not be reached (after any safe retries). */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the database is unavailable', { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * True when `err`, or what it wraps (`cause`, e.g. an engine's error around a failed lookup), is the Db seam saying
 * the database could not be reached. Judged by the error the seam throws, never by an errno alone: an
 * ECONNREFUSED from a language model or an identity provider is not the database.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    if (e instanceof DatabaseUnavailableError || (e as { name?: unknown }).name === 'DatabaseUnavailableError') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

// SQLSTATE classes and codes that mean the connection or the server, not the statement, failed.
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend, fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovery)
  '57P05', // idle_session_timeout
  '57014', // query_canceled (statement_timeout)
  '25P03', // idle_in_transaction_session_timeout
  '53300', // too_many_connections
]);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// node-postgres reports a lost or timed-out connection by message only.
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'is not queryable',
  'Cannot use a pool after calling end',
];

/** True when `err` says the database could not be reached or dropped the connection (or timed the statement out). */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e !== 'object' || e === null) return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_ERRNOS.has(code)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return UNAVAILABLE_MESSAGES.some((m) => message.includes(m));
}

/**
 * True when nothing of the statement can have run: the connection was never made. Such a failure is safe to retry
 * for any statement; a connection lost mid-statement is retried only for reads.
 */
export function failedBeforeSending(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e !== 'object' || e === null) return false;
  if (e.code === 'ECONNREFUSED' || e.code === '57P03' || e.code === '53300' || e.code === 'EAI_AGAIN') return true;
  return typeof e.message === 'string' && e.message.includes('timeout exceeded when trying to connect');
}
