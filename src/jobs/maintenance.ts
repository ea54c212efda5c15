import type { Logger } from 'pino';
import type { CoreDeps } from '../core/deps.ts';
import { compactEventLogs, purgeIdleConversations } from '../core/retention.ts';
import { pruneDeliveries } from '../webhooks/delivery.ts';
import { checkpointIfWalGrew } from '../store/wal.ts';
import { describeCause } from './failure.ts';

/**
 * Housekeeping on every node, every `retention.intervalSeconds`: compacts event logs older than
 * `retention.eventLogHours`, deletes conversations idle for `retention.days` (when set), prunes finished webhook
 * deliveries older than `webhookDelivery.keepDays`. Each task works in bounded batches claimed with SKIP LOCKED,
 * so nodes running it at the same time share the work instead of repeating it. On the embedded database it also
 * checkpoints once enough WAL was written since the last checkpoint (store/wal.ts).
 */
export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: CoreDeps,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const every = this.deps.config.retention.intervalSeconds * 1000;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((err) => this.logger.warn({ err: describeCause(err) }, 'maintenance failed'))
        .finally(() => {
          if (!this.stopped) {
            this.timer = setTimeout(tick, every);
            this.timer.unref();
          }
        });
    };
    // Not at once: a starting node has better things to do, and nodes started together spread out.
    this.timer = setTimeout(tick, Math.min(every, 30_000 + Math.floor(Math.random() * 30_000)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round of every task; returns what each did. */
  async runOnce(): Promise<{ compacted: number; purged: number; pruned: number }> {
    const { retention, webhookDelivery } = this.deps.config;
    const compacted = await compactEventLogs(this.deps, retention.eventLogHours);
    const purged = retention.days === undefined ? 0 : await purgeIdleConversations(this.deps, retention.days);
    const pruned = await pruneDeliveries(this.deps, webhookDelivery.keepDays);
    // The embedded database never checkpoints on its own: its WAL would grow for as long as the server runs.
    await checkpointIfWalGrew(this.deps.db);
    if (compacted || purged || pruned) this.logger.info({ compacted, purged, pruned }, 'maintenance');
    return { compacted, purged, pruned };
  }
}
