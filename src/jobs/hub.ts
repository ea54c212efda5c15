import type { Db } from '../store/db.ts';

/**
 * One LISTEN per channel per process, fanned out in memory: a node with 1,000 open streams holds one
 * database listener, not 1,000. Payload = the key subscribers registered for (a response id), or '' for all.
 */
export class NotifyHub {
  private readonly subs = new Map<string, Set<() => void>>();
  private readonly any = new Set<(key: string) => void>();
  private unlisten: (() => Promise<void>) | null = null;

  constructor(
    private readonly db: Db,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    this.unlisten = await this.db.listen(this.channel, (payload) => this.dispatch(payload));
  }

  private dispatch(key: string): void {
    const set = this.subs.get(key);
    if (set) for (const fn of [...set]) fn();
    for (const fn of [...this.any]) fn(key);
  }

  /** Calls `fn` whenever `key` is notified; returns the unsubscribe function. */
  on(key: string, fn: () => void): () => void {
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

  /** Calls `fn` for every notification on the channel. */
  onAny(fn: (key: string) => void): () => void {
    this.any.add(fn);
    return () => this.any.delete(fn);
  }

  /** Wakes local subscribers without the database (used after local writes in tests and on shutdown). */
  poke(key: string): void {
    this.dispatch(key);
  }

  async stop(): Promise<void> {
    const u = this.unlisten;
    this.unlisten = null;
    if (u) await u();
    this.subs.clear();
    this.any.clear();
  }
}
