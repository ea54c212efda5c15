/**
 * What this node knows of conversation deletions, so a per-node cache hit (a finished response, a response's
 * message list) is served from memory alone, yet a conversation deleted through any node is never served again.
 *
 * Fed by the `<conversation id>:deleted` notifications every deletion sends at commit (core/deletion.ts; main.ts
 * subscribes) and by this node's own deletions. It holds:
 * - **tombstones**: the conversations heard deleted recently (10 minutes, at most 100,000), so a cache fill whose read
 *   began before a deletion and ends after the deletion was heard does not store the deleted conversation's data;
 * - an **epoch**, moved on whenever notifications may have been missed (the listening connection or the embedded
 *   database's thread was lost and is back): a fill that began in an older epoch stores nothing, and the caches are
 *   cleared by the caller (main.ts);
 * - whether notifications are **live** right now (`Db.notificationsLive`): while they are not (the listener is down,
 *   or in a process that never listens, such as a CLI command), a cache hit is checked in the database as before.
 */
export class DeletionWatch {
  private readonly tombstones = new Map<string, number>();
  private epochNo = 0;
  /** Per conversation, the counter's value when its messages last changed (bounded; see `changed`). */
  private readonly changes = new Map<string, number>();
  private counter = 0;
  /** At least the change value of every conversation no longer in `changes`. */
  private floor = 0;

  constructor(
    private readonly live: () => boolean,
    private readonly keepMs = 10 * 60_000,
    private readonly maxTombstones = 100_000,
  ) {}

  /** A conversation was deleted (heard through a notification, or deleted by this node). */
  deleted(conversationId: string): void {
    this.changed(conversationId);
    const now = performance.now();
    this.tombstones.delete(conversationId);
    this.tombstones.set(conversationId, now);
    for (const [id, at] of this.tombstones) {
      if (this.tombstones.size <= this.maxTombstones && now - at <= this.keepMs) break;
      this.tombstones.delete(id);
    }
  }

  /** Notifications may have been missed: no fill begun before now may store, and cached entries must go (caller). */
  lost(): void {
    this.epochNo++;
    this.floor = ++this.counter;
  }

  /**
   * A conversation's messages changed (the `<id>:messages` notification: a question stored, an answer finished).
   * Remembered for the last 50,000 conversations; older ones count as changed at the latest forgotten value.
   */
  changed(conversationId: string): void {
    this.changes.delete(conversationId);
    this.changes.set(conversationId, ++this.counter);
    if (this.changes.size > 50_000) {
      const [oldest, value] = this.changes.entries().next().value as [string, number];
      this.changes.delete(oldest);
      this.floor = Math.max(this.floor, value);
    }
  }

  /** Taken before reading what will be cached; compared by `unchangedSince`. */
  stamp(): number {
    return this.counter;
  }

  /** Whether nothing was heard of this conversation's messages (nor notifications missed) since `stamp`. */
  unchangedSince(conversationId: string, stamp: number): boolean {
    return (this.changes.get(conversationId) ?? this.floor) <= stamp;
  }

  /** Taken by a cache fill before it reads the database. */
  epoch(): number {
    return this.epochNo;
  }

  /** Whether a fill that began in `epoch` may store what it read of this conversation. */
  mayStore(epoch: number, conversationId: string): boolean {
    return epoch === this.epochNo && !this.tombstones.has(conversationId);
  }

  /**
   * Whether a cached entry of this conversation may be served without asking the database: notifications are
   * live (a deletion anywhere would have evicted it) and it was not heard deleted.
   */
  servesFromMemory(conversationId: string): boolean {
    return this.live() && !this.tombstones.has(conversationId);
  }

  /** Whether this conversation was heard deleted (recently). */
  isDeleted(conversationId: string): boolean {
    return this.tombstones.has(conversationId);
  }
}
