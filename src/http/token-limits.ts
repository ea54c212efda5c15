/**
 * Fixed-window request counters for `POST /oauth/v1/token`, one bucket per client and one per address, so
 * neither guessing secrets nor flooding the (deliberately slow) secret check scales. Counters live in Redis when
 * `REDIS_URL` is set (shared by every node), else in this process, bounded in size.
 */
import type { Redis } from 'ioredis';

const MAX_LOCAL_KEYS = 20000;

export interface LimitResult {
  ok: boolean;
  /** Seconds until the window resets. */
  retryAfter: number;
}

export class TokenEndpointLimits {
  private readonly local = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly redis?: Redis | undefined,
  ) {}

  /** Counts one request against `key`; `ok` is false once the window's budget is spent. */
  async hit(key: string): Promise<LimitResult> {
    if (this.redis) {
      try {
        const k = `parley-token-rl:${key}`;
        const [[, count], [, ttl]] = (await this.redis.multi().incr(k).pttl(k).exec()) as [[null, number], [null, number]];
        if (ttl < 0) await this.redis.pexpire(k, this.windowMs);
        return { ok: count <= this.max, retryAfter: Math.max(1, Math.ceil((ttl < 0 ? this.windowMs : ttl) / 1000)) };
      } catch {
        // Redis unreachable: count locally rather than leave the endpoint unlimited.
      }
    }
    const now = Date.now();
    let slot = this.local.get(key);
    if (!slot || slot.resetAt <= now) {
      if (!slot && this.local.size >= MAX_LOCAL_KEYS) this.evict(now);
      slot = { count: 0, resetAt: now + this.windowMs };
      this.local.set(key, slot);
    }
    slot.count++;
    return { ok: slot.count <= this.max, retryAfter: Math.max(1, Math.ceil((slot.resetAt - now) / 1000)) };
  }

  private evict(now: number): void {
    for (const [k, v] of this.local) if (v.resetAt <= now) this.local.delete(k);
    // Still full: drop the oldest windows (insertion order), never grow without bound.
    for (const k of this.local.keys()) {
      if (this.local.size < MAX_LOCAL_KEYS) break;
      this.local.delete(k);
    }
  }
}
