/**
 * The assistant seam: the worker hands an engine the asking user, the conversation history and the new
 * input; the engine yields reasoning messages and growing snapshots of its answer with citations.
 * Ids (`msg_`, `rs_`, `cite_`) and feedback are assigned by the core, never by an engine.
 */

/** The asking user, from the verified token (plus directory groups when known). */
export interface AskingUser {
  /** Token `sub`. */
  id: string;
  email?: string | undefined;
  name?: string | undefined;
  groups: string[];
  /**
   * The email is vouched for (`email_verified: true`, a token Parley minted, or an issuer trusted for email):
   * only then does it count as `email:<address>` and select the directory's groups.
   */
  emailVerified?: boolean | undefined;
  /** The token carries the admin group: holds `role:admin` (documents whose access list is empty). */
  admin?: boolean | undefined;
}

/** Typed principals of a user (`*`, `user:<sub>`, verified `email:`, `group:`): see knowledge/principals.ts. */
export { principalsOf } from '../knowledge/principals.ts';

export interface CitationAttribute {
  key: string;
  value: string;
}

/** A source the answer relied on. `key` is stable within one answer (e.g. a document or person id). */
export interface EngineCitation {
  key: string;
  /** Absolute URL of the source. */
  url: string;
  /** Title shown to the user (CommonMark). */
  title: string;
  /** The passage relied on (CommonMark). */
  body: string;
  attributes: CitationAttribute[];
}

/** Where in the answer a citation applies: `offset` counts Unicode code points, placed just after the sentence. */
export interface EngineReference {
  key: string;
  offset: number;
}

export type EngineEvent =
  /** A reasoning message, sent once, whole. Must never name a source the user cannot see. */
  | { type: 'reasoning'; text: string }
  /**
   * A snapshot of an assistant message: the whole text so far with its citations. Later snapshots with the
   * same `messageIndex` (default 0) replace earlier ones; the last one is the final message.
   */
  | {
      type: 'message';
      messageIndex?: number;
      text: string;
      citations: EngineCitation[];
      references: EngineReference[];
      /** Buttons and links offered with the message (V1 `actions`; the BETA dialect leaves them out). */
      actions?: EngineAction[] | undefined;
    };

/** An action offered with a message: a button whose opaque id comes back as the next input, or a link. */
export type EngineAction = { type: 'callback'; label: string; callbackId: string } | { type: 'url'; label: string; url: string };

/** One earlier message of the conversation, oldest first. */
export interface HistoryMessage {
  actor: 'USER' | 'ASSISTANT';
  text: string;
  /** Citations of an assistant message (url + attributes), so follow-ups can resolve "her", "that policy". */
  citations: { url: string; title: string; attributes: CitationAttribute[] }[];
}

export interface EngineRequest {
  user: AskingUser;
  assistant: string;
  conversationId: string;
  responseId: string;
  /** Earlier messages of the conversation, oldest first, not including `input`. */
  history: HistoryMessage[];
  input: string;
  /** The input is a button of an earlier message (V1 `input.callback_id`, already verified and claimed); `input` is its label. */
  inputCallbackId?: string | undefined;
  /** Aborted on timeout or shutdown; engines must stop promptly. */
  signal: AbortSignal;
  /** Actions the user may ask for, for engines that offer them as tools (`offersActionTools`). */
  actionTools?: ActionTools | undefined;
  /** The response's trace id, when the caller has it (the worker does): what action calls are logged under. */
  traceId?: string | null | undefined;
}

/** One action as a tool: its inputs without a `from` are the tool's (all optional: each has a default). */
export interface ActionTool {
  name: string;
  description: string;
  params: { name: string; type: 'string' | 'number' | 'boolean'; description: string }[];
}

/**
 * The actions of one answer, for an engine that lets its model call them. `invoke` runs an action that needs no
 * confirmation and returns its result; for one that does, it only records the offer (the answer then carries
 * Confirm / Cancel buttons) and says so. The model never makes a confirmed call itself.
 */
export interface ActionTools {
  tools: ActionTool[];
  invoke(name: string, args: Record<string, unknown>): Promise<string>;
}

/** Anything that can answer. Throwing (or yielding nothing) ends the response FAILED with a clear error. */
export interface Engine {
  readonly name: string;
  /** Where it sends requests (no credentials), named in the logs when an answer fails. */
  readonly endpoint?: string | undefined;
  /** The engine lets its model call `EngineRequest.actionTools` (else actions are chosen before it is asked). */
  readonly offersActionTools?: boolean | undefined;
  answer(req: EngineRequest): AsyncIterable<EngineEvent>;
}

export { yieldToEventLoop } from '../store/yield.ts';

/** An error whose message is safe to show the client in the response's `error` field. */
export class EngineError extends Error {
  constructor(
    readonly code: 'ENGINE_TIMEOUT' | 'PROVIDER_ERROR' | 'INVALID_TOOL_CALL' | 'ENGINE_ERROR',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

/**
 * True for an EngineError, judged by shape as well as class: an engine loaded through a dynamic import can
 * see its own copy of this module under tsx, and then `instanceof` alone would misfile its errors.
 */
export function isEngineError(err: unknown): err is EngineError {
  if (err instanceof EngineError) return true;
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    e.name === 'EngineError' &&
    typeof e.message === 'string' &&
    (e.code === 'ENGINE_TIMEOUT' || e.code === 'PROVIDER_ERROR' || e.code === 'INVALID_TOOL_CALL' || e.code === 'ENGINE_ERROR')
  );
}
