/**
 * `parley/client`: a typed client of Parley's Conversations API for browsers and Node ≥ 20 (fetch only).
 * It imports protocol types only, never server code, so it bundles into a page on its own.
 */
export { AnswerStream } from './answer-stream.ts';
export { newIdempotencyKey, ParleyClient, type ParleyClientOptions, type ResponseRef } from './client.ts';
export * from './errors.ts';
export { readSse, type SseFrame } from './sse.ts';
export type * from './types.ts';
