import type { OutputItemBeta as OutputItem, ResponseBeta as Response } from '../protocol/schemas.ts';

// The client speaks the BETA dialect: its messages carry neither `actions` nor callback content.
export type { Citation, Content, ContentReference, Conversation, ReasoningMessage, ResponseStatus } from '../protocol/schemas.ts';
export type { MessageBeta as Message, OutputItemBeta as OutputItem, ResponseBeta as Response } from '../protocol/schemas.ts';

/** A response event carrying the whole response (contract §5). */
export interface ResponseEvent<T extends 'RESPONSE_CREATED' | 'RESPONSE_IN_PROGRESS' | 'RESPONSE_COMPLETED' | 'RESPONSE_FAILED'> {
  event_type: T;
  sequence_number: number;
  response: Response;
}

/** One output: a reasoning message (sent once, whole) or a snapshot of the assistant message so far. */
export interface OutputDeltaEvent {
  event_type: 'RESPONSE_OUTPUT_DELTA';
  sequence_number: number;
  output: OutputItem;
}

/** Every event `ask()` and `streamResponse()` yield, in sequence order, each exactly once. */
export type StreamEvent =
  | ResponseEvent<'RESPONSE_CREATED'>
  | ResponseEvent<'RESPONSE_IN_PROGRESS'>
  | OutputDeltaEvent
  | ResponseEvent<'RESPONSE_COMPLETED'>
  | ResponseEvent<'RESPONSE_FAILED'>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ListConversationsOptions {
  archived?: boolean;
  /** Page size, 1–100. */
  limit?: number;
  cursor?: string;
}

export interface ListOptions {
  limit?: number;
  cursor?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface CreateOptions extends CallOptions {
  /** Sent as `Idempotency-Key`; a fresh random key when absent, reused by every retry of this call. */
  idempotencyKey?: string;
}

export type Rating = 'helpful' | 'unhelpful';
