/**
 * Lets timers and I/O callbacks run (a macrotask turn, not just a microtask). Long CPU-bound work (answering,
 * applying an ingest) calls it between slices so one task never holds the event loop for long: awaiting an
 * embedded-database query is not enough, as it can settle without giving the loop a turn.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
