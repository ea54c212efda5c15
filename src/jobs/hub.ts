import type { StoredEvent } from '../core/event-log.ts';
import type { Db } from '../store/db.ts';

/** What a subscriber hears: the sequence number that was written (when known) and, in-process, the event itself. */
export interface Notice {
  seq?: number | undefined;
  /** A non-numeric suffix (`<key>:cancel`): a signal about the key rather than a written event. */
  tag?: string | undefined;
  event?: StoredEvent | undefined;
}

/**
 * One LISTEN per channel per process, fanned out in memory: a node with 1,000 open streams holds one
 * database listener, not 1,000. Payloads are `<key>`, `<key>:<seq>` or `<key>:<tag>`. Events written in this process are also
 * handed to local subscribers directly (`publish`), so a stream on the node that answers never re-reads them.
 */
export class NotifyHub {
  private readonly subs = new Map<string, Set<(n: Notice) => void>>();
  private readonly any = new Set<(key: string) => void>();
  private readonly tags = new Map<string, (key: string) => void>();
  private readonly catchUps = new Set<() => void>();
  private unlisten: (() => Promise<void>) | null = null;

  constructor(
    private readonly db: Db,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    this.unlisten = await this.db.listen(
      this.channel,
      (payload) => this.dispatch(payload),
      () => this.catchUp(),
    );
  }

  /**
   * After the listening connection was lost and re-established: whatever was notified meanwhile is lost, so every
   * subscriber is told to read (a notice without a sequence number means "read on"), and every waiting worker
   * looks for work.
   */
  private catchUp(): void {
    for (const fn of [...this.catchUps]) fn();
    for (const key of [...this.subs.keys()]) this.deliver(key, {});
    if (this.subs.size === 0) for (const fn of [...this.any]) fn('');
  }

  private dispatch(payload: string): void {
    const colon = payload.lastIndexOf(':');
    const key = colon > 0 ? payload.slice(0, colon) : payload;
    const suffix = colon > 0 ? payload.slice(colon + 1) : undefined;
    const seq = suffix === undefined ? undefined : Number(suffix);
    if (suffix !== undefined && !Number.isInteger(seq)) this.tags.get(suffix)?.(key);
    this.deliver(key, Number.isInteger(seq) ? { seq } : { seq: undefined, tag: suffix });
  }

  private deliver(key: string, notice: Notice): void {
    const set = this.subs.get(key);
    if (set) for (const fn of [...set]) fn(notice);
    for (const fn of [...this.any]) fn(key);
  }

  /** Hands an event just committed in this process to this process's subscribers. */
  publish(key: string, event: StoredEvent): void {
    if (this.subs.has(key)) this.deliver(key, { seq: event.seq, event });
  }

  /** Calls `fn` whenever `key` is notified; returns the unsubscribe function. */
  on(key: string, fn: (n: Notice) => void): () => void {
    let set = this.subs.get(key);
    if (!set) {
      set = new Set();
      this.subs.set(key, set);
    }
    set.add(fn);
    return () => {
      const s = this.subs.get(key);
      if (!s) return;
      s.delete(fn);
      if (s.size === 0) this.subs.delete(key);
    };
  }

  /** Calls `fn(key)` for every `<key>:<tag>` notification with this tag (one handler per tag). */
  onTag(tag: string, fn: (key: string) => void): () => void {
    this.tags.set(tag, fn);
    return () => this.tags.delete(tag);
  }

  /** Calls `fn` after the listener was lost and is back (notifications sent meanwhile were missed). */
  onCatchUp(fn: () => void): () => void {
    this.catchUps.add(fn);
    return () => this.catchUps.delete(fn);
  }

  /** Calls `fn` for every notification on the channel. */
  onAny(fn: (key: string) => void): () => void {
    this.any.add(fn);
    return () => this.any.delete(fn);
  }

  async stop(): Promise<void> {
    const u = this.unlisten;
    this.unlisten = null;
    if (u) await u();
    this.subs.clear();
    this.any.clear();
    this.tags.clear();
    this.catchUps.clear();
  }
}
