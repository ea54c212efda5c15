/** How `applyIngest` cuts a batch into bounded units of work, and serialises ingests per assistant in-process. */
import type { WriteItem } from './ingest-write.ts';

/**
 * A unit of work between two turns of the event loop: at most this many documents, or this many bytes of body,
 * per slice. The embedded database runs each statement on the main thread and awaiting it does not let other
 * requests in, so a whole batch in a few statements held the server (/healthz, questions) for its full duration.
 */
export const SLICE_DOCS = 16;
export const SLICE_BYTES = 64 * 1024;

/** Per-assistant chain of ingests in this process (the embedded database has no other writer). */
const assistantLocks = new Map<string, Promise<unknown>>();

export async function withAssistantLock<T>(assistant: string, fn: () => Promise<T>): Promise<T> {
  const prev = assistantLocks.get(assistant) ?? Promise.resolve();
  const mine = prev.catch(() => undefined).then(fn);
  const tail = mine.catch(() => undefined);
  assistantLocks.set(assistant, tail);
  try {
    return await mine;
  } finally {
    if (assistantLocks.get(assistant) === tail) assistantLocks.delete(assistant);
  }
}

export function* sliceIds(ids: string[], size: number): Generator<string[]> {
  for (let i = 0; i < ids.length; i += size) yield ids.slice(i, i + size);
}

/** Consecutive documents, at most SLICE_DOCS of them and (unless one alone is larger) SLICE_BYTES of body. */
export function* sliceWrites(writes: WriteItem[]): Generator<WriteItem[]> {
  let slice: WriteItem[] = [];
  let bytes = 0;
  for (const w of writes) {
    if (slice.length && (slice.length >= SLICE_DOCS || bytes + w.d.body.length > SLICE_BYTES)) {
      yield slice;
      slice = [];
      bytes = 0;
    }
    slice.push(w);
    bytes += w.d.body.length;
  }
  if (slice.length) yield slice;
}
