import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

type IncrResult = { current: number; ttl: number };
type Callback = (error: Error | null, result?: IncrResult) => void;

/** Fixed window per key: INCR, start the window's expiry on the first hit, return the count and the ms left. */
const WINDOW_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {n, left}
`;

/** Keys this node counts while Redis is away; the oldest go first past this (one entry per active user). */
const LOCAL_KEYS = 50_000;

/**
 * The rate-limit store of `@fastify/rate-limit`: shared across nodes in Redis when `REDIS_URL` is set, and
 * per node in memory otherwise — or while Redis cannot be reached, so losing Redis loosens limits (each node
 * counts on its own) instead of failing every request with a 500. The switch is logged once each way, and
 * `/readyz` reports the degraded dependency.
 */
export class SharedLimits {
  private readonly local = new Map<string, { count: number; resetAt: number }>();
  private failing = false;

  constructor(
    private readonly redis: Redis | undefined,
    private readonly log: Logger,
    private readonly prefix = 'parley-rl:',
  ) {}

  /**
   * Waits (up to `ms`) for the first connection attempt to succeed or fail, so the first requests of a node
   * whose Redis is fine are not counted locally while it is still connecting.
   */
  async settle(ms = 2000): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        redis.off('ready', done);
        redis.off('error', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      redis.once('ready', done);
      redis.once('error', done);
    });
  }

  /** Dependencies this node is running without: `['redis']` while the shared store is unreachable. */
  degraded(): string[] {
    if (!this.redis) return [];
    return this.failing || this.redis.status !== 'ready' ? ['redis'] : [];
  }

  /** The constructor `@fastify/rate-limit` expects as `store`. */
  storeClass(): new () => { incr(key: string, cb: Callback, timeWindow: number, max: number): void; child(): unknown } {
    const limits = this;
    return class {
      incr(key: string, cb: Callback, timeWindow: number): void {
        limits.incr(key, timeWindow).then(
          (r) => cb(null, r),
          (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
        );
      }
      child() {
        return this;
      }
    };
  }

  async incr(key: string, windowMs: number): Promise<IncrResult> {
    if (this.redis && this.redis.status === 'ready') {
      try {
        const [current, ttl] = (await this.redis.eval(WINDOW_SCRIPT, 1, this.prefix + key, windowMs)) as [number, number];
        this.recovered();
        return { current, ttl };
      } catch (err) {
        this.lost(err);
      }
    } else if (this.redis) {
      this.lost(new Error(`redis connection is ${this.redis.status}`));
    }
    return this.incrLocal(key, windowMs);
  }

  private incrLocal(key: string, windowMs: number): IncrResult {
    const now = Date.now();
    let entry = this.local.get(key);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + windowMs };
      this.local.delete(key);
      if (this.local.size >= LOCAL_KEYS) this.local.delete(this.local.keys().next().value!);
      this.local.set(key, entry);
    }
    entry.count += 1;
    return { current: entry.count, ttl: entry.resetAt - now };
  }

  private lost(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.log.warn({ err: (err as Error).message }, 'shared rate limits unavailable (Redis); limiting per node until it is back');
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.local.clear();
    this.log.info('shared rate limits (Redis) are back');
  }
}
