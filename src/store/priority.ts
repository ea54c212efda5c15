import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which work may wait. On the embedded database every statement shares one connection; a request's statements
 * (create, get, list) go ahead of background work — answering and ingestion — that was queued before them.
 * Background work marks itself with `inBackground`; everything else counts as a request. PostgreSQL ignores it
 * (its pool runs statements side by side).
 */
const store = new AsyncLocalStorage<Priority>();

/** `request` first, then `background` (answering), then `bulk` (ingestion: many statements, no one waiting on each). */
export type Priority = 'request' | 'background' | 'bulk';

/** Runs `fn` (and everything it starts, timers and promise continuations included) as background work. */
export function inBackground<T>(fn: () => T): T {
  return store.run('background', fn);
}

/** Runs `fn` as bulk work: after requests and after background work (an ingest goes after the answers). */
export function inBulk<T>(fn: () => T): T {
  return store.run('bulk', fn);
}

/** The current async context's priority. */
export function priority(): Priority {
  return store.getStore() ?? 'request';
}

/** Runs `fn` outside any background context (what it starts counts as request work). */
export function asRequest<T>(fn: () => T): T {
  return store.exit(fn);
}
