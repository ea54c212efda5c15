import type { ErrorCode } from '../protocol/errors.ts';

/** What every error of the client carries: the HTTP status, the envelope's code and the request's trace id. */
export interface ParleyErrorInit {
  status: number;
  code: ErrorCode | 'NETWORK_ERROR' | 'STREAM_ERROR' | 'UNEXPECTED_RESPONSE' | (string & {});
  message: string;
  /** `x-moveworks-root-uuid` of the failed request: quote it to the operator, who finds the log line by it. */
  traceId?: string | undefined;
  /** Seconds the server asked to wait (429, 503). */
  retryAfter?: number | undefined;
  cause?: unknown;
}

/** Base class of every error the client throws. `status` is 0 when no HTTP answer arrived. */
export class ParleyError extends Error {
  readonly status: number;
  readonly code: string;
  readonly traceId: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(init: ParleyErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.traceId = init.traceId;
    this.retryAfter = init.retryAfter;
  }
}

/** 400: the request was refused as invalid (INVALID_INPUT, INVALID_CURSOR, INVALID_REQUEST). */
export class BadRequestError extends ParleyError {}
/** 401: no token, or an invalid or expired one. Sign in again. */
export class UnauthorizedError extends ParleyError {}
/** 403: the token may not use this assistant. */
export class ForbiddenError extends ParleyError {}
/** 404: no such resource for this user (someone else's looks the same). */
export class NotFoundError extends ParleyError {}
/** 406: the server cannot answer in the accepted format. */
export class NotAcceptableError extends ParleyError {}
/** 409: a duplicate request is still being written; retrying shortly gives the original's result. */
export class ConflictError extends ParleyError {}
/** 413: the body is over 1 MiB. */
export class PayloadTooLargeError extends ParleyError {}
/** 415: the body was not JSON. */
export class UnsupportedMediaTypeError extends ParleyError {}
/** 422: the Idempotency-Key was used before with a different body. */
export class IdempotencyKeyReusedError extends ParleyError {}
/** 429: the per-user rate limit; `retryAfter` says when to try again. */
export class RateLimitError extends ParleyError {}
/** 500: a fault of the server. */
export class InternalServerError extends ParleyError {}
/** 503 (and other 5xx): the server or its database is unavailable. */
export class ServiceUnavailableError extends ParleyError {}
/** No HTTP answer at all (connection refused, dropped, offline), after the client's own retries. */
export class NetworkError extends ParleyError {}
/** An answer the client could not read (not the contract's shape). */
export class UnexpectedResponseError extends ParleyError {}

const BY_STATUS: Record<number, new (init: ParleyErrorInit) => ParleyError> = {
  400: BadRequestError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  406: NotAcceptableError,
  409: ConflictError,
  413: PayloadTooLargeError,
  415: UnsupportedMediaTypeError,
  422: IdempotencyKeyReusedError,
  429: RateLimitError,
  500: InternalServerError,
  503: ServiceUnavailableError,
};

/** The error class for an HTTP status (unknown 4xx: BadRequestError; unknown 5xx: ServiceUnavailableError). */
export function errorFor(init: ParleyErrorInit): ParleyError {
  const Cls = BY_STATUS[init.status] ?? (init.status >= 500 ? ServiceUnavailableError : init.status >= 400 ? BadRequestError : UnexpectedResponseError);
  return new Cls(init);
}

/** Reads a failed fetch answer into the matching error: the envelope's code and message, and the trace id. */
export async function errorFromResponse(res: Response): Promise<ParleyError> {
  const traceId = res.headers.get('x-moveworks-root-uuid') ?? undefined;
  const retryRaw = res.headers.get('retry-after');
  const retryAfter = retryRaw !== null && /^\d+$/.test(retryRaw) ? Number(retryRaw) : undefined;
  let code = `HTTP_${res.status}`;
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    if (body && typeof body.error?.code === 'string') code = body.error.code;
    if (body && typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not the envelope (a proxy's page, say): keep the status line.
  }
  return errorFor({ status: res.status, code, message, traceId, retryAfter });
}
