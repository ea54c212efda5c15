/**
 * Maps whatever the `ai` SDK, fetch or a tool threw into an EngineError whose message is safe to show the
 * client: it names the kind of failure and the HTTP status, never the provider's URL, key or error body.
 * The original error is kept as `cause` for the logs.
 */
import {
  APICallError,
  InvalidResponseDataError,
  InvalidToolInputError,
  JSONParseError,
  NoSuchToolError,
  RetryError,
  TypeValidationError,
} from 'ai';
import { EngineError, isEngineError } from '../engine.ts';

export interface FailureContext {
  /** Our own timer fired. */
  timedOut: boolean;
  timeoutMs: number;
  /** The caller's signal (worker timeout or shutdown). */
  callerSignal: AbortSignal;
}

/** A tool call the model got wrong: unknown tool, arguments that are not JSON or do not fit the schema. */
export function invalidToolCall(toolName: string, cause: unknown): EngineError {
  const known = !NoSuchToolError.isInstance(cause);
  const message = known
    ? `The language model called the tool "${safeName(toolName)}" with invalid arguments.`
    : `The language model called an unknown tool "${safeName(toolName)}".`;
  return new EngineError('INVALID_TOOL_CALL', message, { cause });
}

export function toEngineError(err: unknown, ctx: FailureContext): EngineError {
  if (isEngineError(err)) return err;
  if (ctx.timedOut) {
    return new EngineError(
      'ENGINE_TIMEOUT',
      `The language model did not finish answering within ${formatSeconds(ctx.timeoutMs)}.`,
      { cause: err },
    );
  }
  if (ctx.callerSignal.aborted) {
    const reason: unknown = ctx.callerSignal.reason;
    if (isEngineError(reason)) return reason;
    if (reason instanceof Error && reason.name === 'TimeoutError') {
      return new EngineError('ENGINE_TIMEOUT', 'The response timed out.', { cause: reason });
    }
    return new EngineError('ENGINE_ERROR', 'The response was cancelled.', { cause: reason ?? err });
  }
  if (RetryError.isInstance(err) && err.lastError !== undefined) return toEngineError(err.lastError, ctx);
  if (NoSuchToolError.isInstance(err)) return invalidToolCall(err.toolName, err);
  if (InvalidToolInputError.isInstance(err)) return invalidToolCall(err.toolName, err);
  if (APICallError.isInstance(err)) {
    const status = err.statusCode;
    if (status === undefined) {
      return new EngineError('PROVIDER_ERROR', 'Could not connect to the language model provider.', { cause: err });
    }
    if (status < 400) {
      // The answer had started ("Failed to process successful response"): the stream broke off.
      return interrupted(err);
    }
    return new EngineError('PROVIDER_ERROR', `The language model provider ${describeStatus(status)} (HTTP ${status}).`, {
      cause: err,
    });
  }
  if (JSONParseError.isInstance(err) || TypeValidationError.isInstance(err) || InvalidResponseDataError.isInstance(err)) {
    return new EngineError('PROVIDER_ERROR', 'The language model provider sent a malformed response.', { cause: err });
  }
  if (err instanceof TypeError || isNetworkError(err)) return interrupted(err);
  if (err !== null && typeof err === 'object' && !(err instanceof Error)) {
    // An `{"error": {...}}` object sent inside the event stream.
    return new EngineError('PROVIDER_ERROR', 'The language model provider reported an error.', { cause: err });
  }
  return new EngineError('PROVIDER_ERROR', 'The language model provider failed.', { cause: err });
}

function interrupted(cause: unknown): EngineError {
  return new EngineError('PROVIDER_ERROR', 'The connection to the language model provider was interrupted.', { cause });
}

function describeStatus(status: number): string {
  if (status === 401 || status === 403) return 'rejected the configured credentials';
  if (status === 404) return 'does not know the configured model or endpoint';
  if (status === 408) return 'timed out';
  if (status === 413) return 'refused a request that was too large';
  if (status === 429) return 'is rate-limiting requests';
  if (status >= 500) return 'failed';
  return 'refused the request';
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s === 1 ? '1 second' : `${Number.isInteger(s) ? s : s.toFixed(1)} seconds`;
}

function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(ECONN|EPIPE|ETIMEDOUT|UND_ERR|ENOTFOUND|EAI_AGAIN)/.test(code);
}

// Tool names come from the model; keep the message printable and short.
function safeName(name: string): string {
  return name.replace(/[^\w.-]/g, '').slice(0, 64) || '?';
}
