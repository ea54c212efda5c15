import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { EngineError, yieldToEventLoop, type AskingUser, type Engine, type EngineEvent } from '../assistant/engine.ts';
import { CHANNEL_EVENTS, MESSAGES_TAG, type CoreDeps } from '../core/deps.ts';
import { appendDelta, type StoredEvent } from '../core/event-log.ts';
import { callbackIdFor } from '../core/feedback-tokens.ts';
import { commonmark, renderResponse, type ResponseRow } from '../core/render.ts';
import { derivedId, newId } from '../protocol/ids.ts';
import type { Message, OutputItem } from '../protocol/schemas.ts';
import { isDatabaseUnavailable } from '../store/db.ts';
import { inBackground } from '../store/priority.ts';
import { buildMessage, historyFrom, historySql, HISTORY_ROWS, textOf, titleFrom, type HistoryRow } from './answer-messages.ts';
import { CANCEL_TAG } from './cancel.ts';
import { describeCause, failResponse, toClientError } from './failure.ts';
import type { NotifyHub } from './hub.ts';
import { webhookMessage, webhookTargets } from '../webhooks/outbox.ts';

export { failResponse, titleFrom };

const IDLE_POLL_MS = 5000;
const REAP_EVERY_MS = 5000;

interface ClaimedRow extends ResponseRow {
  user_claims: AskingUser;
  assistant: string;
  input_message_id: string;
  attempts: number;
  deadline_at: Date;
  lease_owner: string;
  last_seq: number;
  trace_id: string | null;
  /** When the first attempt claimed it: the time part of the ids of its outputs, the same in every attempt. */
  started_at: Date;
}

export interface WorkerHooks {
  /** Called once per response that reaches a terminal state in this process. */
  onFinished?: (status: 'COMPLETED' | 'FAILED', seconds: number) => void;
}

class LeaseLost extends Error {}
/** The abort reason when a client cancelled the response (already FAILED by the cancel itself). */
class Cancelled extends Error {}

/**
 * Answers responses. The response row is the job: claimed with FOR UPDATE SKIP LOCKED and a lease, woken by
 * NOTIFY, FIFO within a conversation, every output and status change appended to the response's event log.
 */
export class Worker {
  private running = false;
  private readonly loops: Promise<void>[] = [];
  private wake: (() => void)[] = [];
  private reaper: NodeJS.Timeout | null = null;
  private offJobs: (() => void) | null = null;
  private readonly inFlight = new Map<string, AbortController>();
  readonly id = `w-${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly deps: CoreDeps,
    private readonly engine: Engine,
    private readonly jobs: NotifyHub,
    private readonly log: Logger,
    private readonly hooks: WorkerHooks = {},
    /** This process's event hub: committed events go straight to local streams (no re-read). */
    private readonly local?: NotifyHub,
  ) {}

  /**
   * Starts the reaper and, unless `claim` is false, the claim loops. HTTP-only nodes still reap, so a response
   * reaches a terminal state by its deadline even when every worker process is gone.
   */
  start(opts: { claim?: boolean } = {}): void {
    if (this.running) return;
    this.running = true;
    // Answering and reaping are background work: on the embedded database a request's statements go first.
    inBackground(() => this.startLoops(opts));
  }

  private startLoops(opts: { claim?: boolean }): void {
    if (opts.claim !== false) {
      this.offJobs = this.jobs.onAny(() => this.wakeAll());
      for (let i = 0; i < (this.deps.config.responses.concurrency ?? 2); i++) this.loops.push(this.loop());
    }
    this.reaper = setInterval(() => {
      this.reap().catch((err: unknown) => this.log.error({ err }, 'reaper failed'));
    }, REAP_EVERY_MS);
    this.reaper.unref();
    void this.reap().catch((err: unknown) => this.log.error({ err }, 'reaper failed'));
  }

  /** Stops claiming; waits for answers in flight up to `graceMs`, then aborts them and hands their leases back. */
  async stop(graceMs = 10000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.offJobs?.();
    if (this.reaper) clearInterval(this.reaper);
    this.wakeAll();
    const timer = setTimeout(() => {
      for (const ac of this.inFlight.values()) ac.abort(new Error('shutdown'));
    }, graceMs);
    await Promise.allSettled(this.loops);
    clearTimeout(timer);
  }

  private wakeAll(): void {
    const w = this.wake;
    this.wake = [];
    for (const fn of w) fn();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake.push(done);
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let row: ClaimedRow | null = null;
      try {
        row = await this.claim();
      } catch (err) {
        this.log.error({ err }, 'claim failed');
        await this.sleep(1000);
        continue;
      }
      if (!row) {
        await this.sleep(IDLE_POLL_MS);
        continue;
      }
      await this.process(row);
    }
  }

  /** Claims the oldest answerable response: CREATED, or IN_PROGRESS with an expired lease and budget left. */
  async claim(): Promise<ClaimedRow | null> {
    const { maxAttempts, leaseSeconds } = this.deps.config.responses;
    const lease = `${this.id}:${randomBytes(6).toString('hex')}`;
    const rows = await this.deps.db.query<ClaimedRow>(
      // A claim lost in a database crash only means the response is claimed again: no need to wait for the WAL.
      `WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)),
       next AS (
         SELECT r.id FROM responses r
         WHERE r.status IN ('CREATED', 'IN_PROGRESS')
           AND (r.status = 'CREATED' OR r.lease_until < now())
           AND r.attempts < $2
           AND r.deadline_at > now()
           AND NOT EXISTS (
             SELECT 1 FROM responses p
             WHERE p.conversation_id = r.conversation_id AND p.pos < r.pos AND p.status IN ('CREATED', 'IN_PROGRESS'))
         ORDER BY r.pos LIMIT 1
         FOR UPDATE SKIP LOCKED)
       UPDATE responses r
          SET status = 'IN_PROGRESS', attempts = r.attempts + 1, lease_owner = $1,
              lease_until = now() + make_interval(secs => $3), started_at = COALESCE(r.started_at, now())
         FROM next, relaxed WHERE r.id = next.id
       RETURNING r.id, r.conversation_id, r.status, r.created_at, r.completed_at, r.error, r.user_claims, r.assistant,
                 r.input_message_id, r.attempts, r.deadline_at, r.lease_owner, r.last_seq, r.trace_id, r.started_at`,
      [lease, maxAttempts, leaseSeconds],
    );
    return rows[0] ?? null;
  }

  private async process(row: ClaimedRow): Promise<void> {
    const started = Date.now();
    const lease = row.lease_owner;
    const ac = new AbortController();
    this.inFlight.set(row.id, ac);
    const msLeft = new Date(row.deadline_at).getTime() - Date.now();
    const timeout = setTimeout(() => ac.abort(new EngineError('ENGINE_TIMEOUT', 'timeout')), Math.max(0, msLeft));
    const renew = setInterval(
      () => {
        this.deps.db
          .query(`UPDATE responses SET lease_until = now() + make_interval(secs => $3) WHERE id = $1 AND lease_owner = $2 RETURNING id`, [
            row.id,
            lease,
            this.deps.config.responses.leaseSeconds,
          ])
          .then((r) => {
            if (r.length === 0) ac.abort(new LeaseLost('lease lost'));
          })
          .catch((err: unknown) => this.log.warn({ err, response_id: row.id }, 'lease renewal failed'));
      },
      (this.deps.config.responses.leaseSeconds * 1000) / 3,
    );
    // A cancel on any node notifies `<id>:cancel` on the jobs channel: abort the engine and its model request.
    const offCancel = this.jobs.on(row.id, (n) => {
      if (n.tag === CANCEL_TAG) ac.abort(new Cancelled('cancelled'));
    });
    const log = this.log.child({ trace_id: row.trace_id, response_id: row.id, conversation_id: row.conversation_id, attempt: row.attempts });
    try {
      const outcome = await this.answer(row, lease, ac.signal);
      if (outcome) this.hooks.onFinished?.(outcome, (Date.now() - started) / 1000);
      log.info({ status: outcome, ms: Date.now() - started }, 'response finished');
    } catch (err) {
      if (ac.signal.reason instanceof Cancelled) {
        log.info('cancelled by the client; engine aborted');
      } else if (err instanceof LeaseLost || ac.signal.reason instanceof LeaseLost) {
        log.warn('lease lost; another worker or the reaper owns this response now');
      } else if (isDatabaseUnavailable(err) && !ac.signal.aborted) {
        // Not the answer's fault: hand it back at once so the next attempt (any node's, with the same output ids)
        // resumes it as soon as the database answers again, rather than failing it or waiting out the lease.
        log.warn({ err: (err as Error).message }, 'database connection lost while answering; handing the response back');
        await this.handBack(row.id, lease);
      } else if (ac.signal.aborted && (ac.signal.reason as Error)?.message === 'shutdown') {
        // Hand the lease back so another node picks the response up at once.
        await this.deps.db
          .query(`UPDATE responses SET lease_until = now() WHERE id = $1 AND lease_owner = $2`, [row.id, lease])
          .catch(() => undefined);
        log.warn('released on shutdown');
      } else {
        const error = toClientError(err, ac.signal, this.deps.config.responses.timeoutSeconds);
        // Name the engine's endpoint and the underlying cause: the client only sees a generic message.
        const where = { engine: this.engine.name, endpoint: this.engine.endpoint, cause: describeCause(err), code: error.code };
        if (error.code === 'ENGINE_ERROR') log.error({ err, ...where }, 'engine failed');
        else log.warn(where, 'response failed');
        try {
          const ok = await failResponse(this.deps, row.id, error, lease, this.local);
          if (ok) this.hooks.onFinished?.('FAILED', (Date.now() - started) / 1000);
        } catch (e) {
          log.error({ err: e }, 'could not record failure');
        }
      }
    } finally {
      offCancel();
      clearTimeout(timeout);
      clearInterval(renew);
      this.inFlight.delete(row.id);
    }
  }

  /** Expires our lease so the response is claimable now; retried while the database is unreachable (the lease runs out anyway). */
  private async handBack(id: string, lease: string): Promise<void> {
    for (let i = 0; i < 5 && this.running; i++) {
      try {
        await this.deps.db.query(`UPDATE responses SET lease_until = now() WHERE id = $1 AND lease_owner = $2`, [id, lease]);
        this.wakeAll();
        return;
      } catch {
        await this.sleep(1000);
      }
    }
  }

  /** Runs the engine and records everything it yields; returns the terminal status written. */
  private async answer(row: ClaimedRow, lease: string, signal: AbortSignal): Promise<'COMPLETED' | 'FAILED' | null> {
    const { db } = this.deps;
    const now = () => this.deps.now();
    // Outputs of an earlier attempt that died are replaced by this attempt's, under the same ids (see outputId).
    const begun = await this.begin(row, lease);
    let seq = begun.started?.seq ?? row.last_seq;
    const { history, input, inputCallbackId } = historyFrom(begun.history);
    const outputs: OutputItem[] = [];
    const messageSlots = new Map<number, { idx: number; id: string; createdAt: string; message: Message }>();
    const citationIds = new Map<string, string>();
    // Ids derived from the response, the output's place and the first attempt's start: a retry after a worker
    // died writes under the dead attempt's ids, so a stream's snapshots replace each other instead of showing the
    // partial answer beside the final one. Citation ids likewise, by source key.
    const startedMs = new Date(row.started_at).getTime();
    const outputId = (prefix: 'rs' | 'msg', idx: number) => derivedId(prefix, startedMs, `${row.id}:${idx}`, idx);
    const citationId = (key: string, n: number) => derivedId('cite', startedMs, `${row.id}:${key}`, n);

    const recorded = new Map<number, string>();
    const record = async (idx: number, itemId: string, item: OutputItem) => {
      outputs[idx] = item;
      // A snapshot equal to the last one of that output tells a stream nothing new: not written again.
      const json = JSON.stringify(item);
      if (recorded.get(idx) === json) return;
      recorded.set(idx, json);
      seq += 1;
      const ev = await appendDelta(db, { responseId: row.id, lease, seq, idx, itemId, item, itemJson: json });
      if (!ev) throw new LeaseLost();
      this.local?.publish(row.id, ev);
    };

    const iterator = this.engine.answer({
      user: row.user_claims,
      assistant: row.assistant,
      conversationId: row.conversation_id,
      responseId: row.id,
      history,
      input,
      inputCallbackId,
      signal,
      traceId: row.trace_id,
    });
    for await (const ev of iterator as AsyncIterable<EngineEvent>) {
      // Other requests get a turn between two outputs, whatever the engine (an embedded-database write can
      // settle without one).
      await yieldToEventLoop();
      if (signal.aborted) throw signal.reason;
      switch (ev.type) {
        case 'reasoning': {
          const id = outputId('rs', outputs.length);
          const item: OutputItem = {
            type: 'REASONING_MESSAGE',
            reasoning_message: {
              reasoning_message_id: id,
              conversation_id: row.conversation_id,
              response_id: row.id,
              content: commonmark(ev.text),
              created_at: now().toISOString(),
            },
          };
          await record(outputs.length, id, item);
          break;
        }
        case 'message': {
          const key = ev.messageIndex ?? 0;
          let slot = messageSlots.get(key);
          const message = buildMessage(row, slot?.id ?? outputId('msg', outputs.length), slot?.createdAt ?? now().toISOString(), ev, citationIds, citationId);
          if (!slot) {
            slot = { idx: outputs.length, id: message.message_id, createdAt: message.created_at, message };
            messageSlots.set(key, slot);
          }
          slot.message = message;
          await record(slot.idx, slot.id, { type: 'MESSAGE', message });
          break;
        }
        default: {
          const never: never = ev;
          throw new Error(`unknown engine event ${JSON.stringify(never)}`);
        }
      }
    }
    if (signal.aborted) throw signal.reason;
    if (messageSlots.size === 0) throw new EngineError('ENGINE_ERROR', 'The assistant produced no answer.');
    return this.complete(row, lease, seq, outputs, [...messageSlots.values()], input);
  }

  /**
   * Says the answer started (RESPONSE_IN_PROGRESS), once over all attempts, and drops the outputs of an earlier
   * attempt that died, and reads the conversation so far: one statement, fenced by the lease and by `last_seq`.
   * Returns the event written (null when an earlier attempt already wrote it) and the history's rows.
   */
  private async begin(row: ClaimedRow, lease: string): Promise<{ started: StoredEvent | null; history: HistoryRow[] }> {
    const seq = row.last_seq + 1;
    const response = renderResponse({ ...row, status: 'IN_PROGRESS' }, []);
    const data = JSON.stringify({ event_type: 'RESPONSE_IN_PROGRESS', sequence_number: seq, response });
    const rows = await this.deps.db.query<{ leased: boolean; logged: boolean; written: number; history: HistoryRow[] }>(
      // Not a final state: no need to wait for the WAL flush (see appendDelta). (Data-modifying CTEs run whether
      // or not the final SELECT reads them; `relaxed` is read so that it runs.)
      `WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS v),
       r AS (
         SELECT lease_owner IS NOT DISTINCT FROM $2::text AS leased,
                EXISTS (SELECT 1 FROM response_events WHERE response_id = $1::text AND event_type = 'RESPONSE_IN_PROGRESS') AS logged
           FROM responses WHERE id = $1::text
       ), dropped AS (
         DELETE FROM response_outputs WHERE response_id = $1::text AND $5::boolean AND (SELECT leased FROM r) RETURNING 1
       ), s AS (
         UPDATE responses SET last_seq = $3::int
          WHERE id = $1::text AND lease_owner = $2::text AND last_seq = $3::int - 1 AND NOT (SELECT logged FROM r)
         RETURNING id
       ), e AS (
         INSERT INTO response_events (response_id, seq, event_type, data)
         SELECT id, $3::int, 'RESPONSE_IN_PROGRESS', $4::text FROM s RETURNING seq
       )
       SELECT r.leased, r.logged,
              (SELECT count(*) FROM (SELECT pg_notify($6::text, $1::text || ':' || e.seq) FROM e) n)::int AS written,
              (SELECT v FROM relaxed) AS relaxed,
              (SELECT coalesce(json_agg(h ORDER BY h.response_pos DESC, h.message_pos DESC), '[]')
                 FROM (${historySql('$1::text', '$7::text', '$8::int')}) h) AS history
         FROM r`,
      [row.id, lease, seq, data, row.attempts > 1, CHANNEL_EVENTS, row.conversation_id, HISTORY_ROWS],
      { name: 'worker-begin' },
    );
    const r = rows[0];
    if (!r?.leased) throw new LeaseLost();
    if (r.logged) return { started: null, history: r.history };
    if (r.written !== 1) throw new LeaseLost();
    const ev: StoredEvent = { seq, event_type: 'RESPONSE_IN_PROGRESS', data };
    this.local?.publish(row.id, ev);
    return { started: ev, history: r.history };
  }

  /**
   * Writes the final snapshots, the messages, the conversation events, RESPONSE_COMPLETED, the webhook deliveries
   * and the status in ONE statement (one round trip, committed durably), fenced by the lease and by `last_seq`
   * (`seq`, the last event this attempt wrote).
   */
  private async complete(
    row: ClaimedRow,
    lease: string,
    seq: number,
    outputs: OutputItem[],
    slots: { idx: number; id: string; message: Message }[],
    input: string,
  ): Promise<'COMPLETED'> {
    const completedAt = this.deps.now();
    const written: StoredEvent[] = [];
    const event = (type: 'RESPONSE_OUTPUT_DELTA' | 'RESPONSE_COMPLETED', payload: Record<string, unknown>) => {
      const n = seq + written.length + 1;
      written.push({ seq: n, event_type: type, data: JSON.stringify({ event_type: type, sequence_number: n, ...payload }) });
    };
    const finals: Message[] = [];
    for (const slot of slots) {
      // The last snapshot equals the final message, feedback included (contract §5).
      const final: Message = {
        ...slot.message,
        feedback: {
          helpful: { callback_id: callbackIdFor(this.deps.keys, slot.id, 'HELPFUL') },
          unhelpful: { callback_id: callbackIdFor(this.deps.keys, slot.id, 'UNHELPFUL') },
        },
      };
      const item: OutputItem = { type: 'MESSAGE', message: final };
      outputs[slot.idx] = item;
      finals.push(final);
      event('RESPONSE_OUTPUT_DELTA', { output: item });
    }
    const response = renderResponse({ ...row, status: 'COMPLETED', completed_at: completedAt, error: null }, outputs);
    event('RESPONSE_COMPLETED', { response });
    const hook = webhookMessage(this.deps.config, 'response.completed', { conversation_id: row.conversation_id, user_id: row.user_claims.id, assistant: row.assistant, response }, completedAt);
    const rows = await this.deps.db.query<{ ok: number }>(
      `WITH s AS (
         UPDATE responses SET status = 'COMPLETED', completed_at = $3, lease_owner = NULL, lease_until = NULL, last_seq = $4::int
          WHERE id = $1::text AND lease_owner = $2::text AND last_seq = $5::int
         RETURNING id, conversation_id
       ), ev AS (
         INSERT INTO response_events (response_id, seq, event_type, data)
         SELECT s.id, e.seq, e.event_type, e.data FROM s, unnest($6::int[], $7::text[], $8::text[]) AS e(seq, event_type, data)
         RETURNING seq
       ), o AS (
         UPDATE response_outputs ro SET item = x.item::jsonb
           FROM s, unnest($9::int[], $10::text[]) AS x(idx, item)
          WHERE ro.response_id = s.id AND ro.idx = x.idx
         RETURNING 1
       ), m AS (
         INSERT INTO messages (id, conversation_id, response_id, user_id, actor, text, citations, content_references, created_at, actions)
         SELECT x.id, s.conversation_id, s.id, $11::text, 'ASSISTANT', x.text, x.citations::jsonb, x.refs::jsonb, x.created_at, x.actions::jsonb
           FROM s, unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::timestamptz[], $17::text[])
                   WITH ORDINALITY AS x(id, text, citations, refs, created_at, actions, n)
          ORDER BY x.n
         RETURNING id
       ), ce AS (
         INSERT INTO conversation_events (id, conversation_id, user_id, assistant, message_id, created_at)
         SELECT x.id, s.conversation_id, $11::text, $18::text, x.message_id, $3
           FROM s, unnest($19::text[], $12::text[]) WITH ORDINALITY AS x(id, message_id, n)
          ORDER BY x.n
         RETURNING 1
       ), wh AS (
         INSERT INTO webhook_deliveries (msg_id, endpoint, event_type, body, created_at, next_attempt_at, conversation_id)
         SELECT $20::text, t.endpoint, $26::text, $21::text, $3, $3, s.conversation_id
           FROM s, ${webhookTargets('$22', '$26')} t
         RETURNING 1
       ), c AS (
         UPDATE conversations SET title = COALESCE(title, $23::text), updated_at = $3 FROM s WHERE conversations.id = s.conversation_id
         RETURNING conversations.id
       )
       SELECT (SELECT count(*) FROM s)::int AS ok,
              (SELECT count(*) FROM (SELECT pg_notify($24::text, $1::text || ':' || ev.seq) FROM ev) n)::int AS events,
              (SELECT count(*) FROM (SELECT pg_notify($24::text, c.id || ':' || $25::text) FROM c) k)::int AS conversations`,
      [
        row.id,
        lease,
        completedAt,
        seq + written.length,
        seq,
        written.map((e) => e.seq),
        written.map((e) => e.event_type),
        written.map((e) => e.data),
        slots.map((s) => s.idx),
        slots.map((s) => JSON.stringify(outputs[s.idx])),
        row.user_claims.id,
        slots.map((s) => s.id),
        finals.map((f) => textOf(f)),
        finals.map((f) => JSON.stringify(f.citations ?? [])),
        finals.map((f) => JSON.stringify(f.content_references ?? [])),
        finals.map((f) => new Date(f.created_at)),
        finals.map((f) => (f.actions ? JSON.stringify(f.actions) : null)),
        row.assistant,
        slots.map(() => newId('evt')),
        hook.msgId,
        hook.body,
        hook.configured,
        titleFrom(input),
        CHANNEL_EVENTS,
        MESSAGES_TAG,
        'response.completed',
      ],
      { name: 'worker-complete' },
    );
    if (rows[0]?.ok !== 1) throw new LeaseLost();
    for (const ev of written) this.local?.publish(row.id, ev);
    return 'COMPLETED';
  }

  /**
   * Fails what can no longer finish: past its deadline, or abandoned by a dead worker with no retries left.
   * Runs on every node; SKIP LOCKED keeps them from doing the same row twice.
   */
  async reap(): Promise<number> {
    const { maxAttempts, timeoutSeconds } = this.deps.config.responses;
    const rows = await this.deps.db.query<{ id: string; timed_out: boolean }>(
      `SELECT id, deadline_at <= now() AS timed_out FROM responses
       WHERE status IN ('CREATED', 'IN_PROGRESS')
         AND (deadline_at <= now() OR (status = 'IN_PROGRESS' AND lease_until < now() AND attempts >= $1))
       ORDER BY pos LIMIT 100`,
      [maxAttempts],
    );
    // Idempotency keys only promise 24 h (contract §2): drop older ones a batch at a time.
    await this.deps.db.query(
      `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM idempotency_keys WHERE created_at < now() - interval '24 hours' LIMIT 1000))`,
    );
    let n = 0;
    for (const r of rows) {
      const error = r.timed_out
        ? { code: 'TIMEOUT', message: `The response did not complete within ${timeoutSeconds} seconds.` }
        : { code: 'WORKER_LOST', message: 'The response could not be completed after several attempts.' };
      if (await failResponse(this.deps, r.id, error, undefined, this.local)) {
        n++;
        this.hooks.onFinished?.('FAILED', 0);
      }
    }
    return n;
  }
}
