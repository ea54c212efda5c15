import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../store/db.ts';

/** Prometheus metrics of one process: its own registry, so several apps in one test run never collide. */
export class Metrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly responseDuration: Histogram<'status'>;
  readonly openStreams: Gauge;
  readonly responsesFinished: Counter<'status'>;

  constructor(db: Db, opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'parley_process_' });
    this.requestDuration = new Histogram({
      name: 'parley_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.responseDuration = new Histogram({
      name: 'parley_response_duration_seconds',
      help: 'Time from claim to terminal state of assistant responses, by final status',
      labelNames: ['status'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [this.registry],
    });
    this.responsesFinished = new Counter({
      name: 'parley_responses_finished_total',
      help: 'Responses that reached a terminal state in this process',
      labelNames: ['status'],
      registers: [this.registry],
    });
    this.openStreams = new Gauge({ name: 'parley_open_streams', help: 'SSE streams open on this node', registers: [this.registry] });
    new Gauge({
      name: 'parley_queue_depth',
      help: 'Responses waiting or in progress (whole cluster)',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        const rows = await db.query<{ status: string; n: number }>(
          `SELECT status, count(*)::int AS n FROM responses WHERE status IN ('CREATED', 'IN_PROGRESS') GROUP BY status`,
        );
        this.reset();
        this.set({ status: 'CREATED' }, 0);
        this.set({ status: 'IN_PROGRESS' }, 0);
        for (const r of rows) this.set({ status: r.status }, r.n);
      },
    });
  }

  finished(status: 'COMPLETED' | 'FAILED', seconds: number): void {
    this.responsesFinished.inc({ status });
    if (seconds > 0) this.responseDuration.observe({ status }, seconds);
  }
}
