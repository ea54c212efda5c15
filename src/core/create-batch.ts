import type { Db } from '../store/db.ts';
import { isDatabaseUnavailable } from '../store/db.ts';
import { CHANNEL_EVENTS, CHANNEL_JOBS, MESSAGES_TAG } from './deps.ts';

/** One question to store: its user message, its response (the job) and its RESPONSE_CREATED event. */
export interface NewResponse {
  conversationId: string;
  userId: string;
  assistant: string;
  at: Date;
  responseId: string;
  messageId: string;
  /** The caller's claims, as JSON. */
  claims: string;
  deadline: Date;
  text: string;
  /** The RESPONSE_CREATED event's stored JSON line. */
  event: string;
  traceId: string | null;
}

interface Pending {
  item: NewResponse;
  resolve: (stored: boolean) => void;
  reject: (err: unknown) => void;
}

/** At most this many questions per statement. */
const MAX_BATCH = 64;
/** Statements of this kind in flight at once; questions arriving meanwhile wait and go together in the next. */
const IN_FLIGHT = 2;

/**
 * Everything for many questions in one statement (so one commit): data-modifying CTEs run atomically, and nothing
 * is written for a question whose conversation is not its caller's (the UPDATE matches no row: not returned).
 * Every question of a batch names a different conversation (an UPDATE … FROM touches a row once).
 */
const SQL = `WITH i AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
    AS t(conv_id, user_id, assistant, at, resp_id, msg_id, claims, deadline, body, event, trace_id)
), conv AS (
  UPDATE conversations c SET updated_at = i.at::timestamptz FROM i
   WHERE c.id = i.conv_id AND c.user_id = i.user_id AND c.assistant = i.assistant
  RETURNING i.conv_id, i.user_id, i.assistant, i.at, i.resp_id, i.msg_id, i.claims, i.deadline, i.body, i.event, i.trace_id
), resp AS (
  INSERT INTO responses (id, conversation_id, user_id, assistant, status, input_message_id, user_claims, created_at, deadline_at, last_seq, trace_id)
  SELECT resp_id, conv_id, user_id, assistant, 'CREATED', msg_id, claims::jsonb, at::timestamptz, deadline::timestamptz, 1, trace_id FROM conv
  RETURNING id
), msg AS (
  INSERT INTO messages (id, conversation_id, response_id, user_id, actor, text, created_at, callback_id)
  SELECT msg_id, conv_id, resp_id, user_id, 'USER', body, at::timestamptz, NULL FROM conv
  RETURNING id
), ev AS (
  INSERT INTO response_events (response_id, seq, event_type, data)
  SELECT resp.id, 1, 'RESPONSE_CREATED', conv.event FROM resp JOIN conv ON conv.resp_id = resp.id
  RETURNING response_id
)
SELECT ev.response_id AS id, pg_notify($12::text, ev.response_id || ':1'), pg_notify($13::text, ev.response_id),
       pg_notify($12::text, conv.conv_id || ':${MESSAGES_TAG}')
  FROM ev JOIN conv ON conv.resp_id = ev.response_id`;

/**
 * Group commit for new questions (issue 9): while a statement storing questions is in flight, further ones wait and
 * are then stored together, in one statement and one commit. On PostgreSQL every commit that sends a NOTIFY holds a
 * database-wide lock through its WAL flush, so one question per commit capped creates at one flush each, whatever the
 * pool size. A question that arrives when nothing is in flight goes at once (no added wait).
 */
export class CreateBatcher {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  /** Conversations with a question in a statement in flight. */
  private readonly busy = new Set<string>();
  /** Statements sent and questions stored by them (diagnostics, tests). */
  readonly stats = { statements: 0, stored: 0 };

  constructor(private readonly db: Db) {}

  /** Stores the question; false when its conversation is not the caller's (nothing stored). */
  store(item: NewResponse): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < IN_FLIGHT && this.queue.length > 0) {
      const batch: Pending[] = [];
      const convs = new Set<string>();
      const rest: Pending[] = [];
      for (const p of this.queue) {
        const c = p.item.conversationId;
        // A conversation's next question waits until its previous one is committed: its order is kept, and two
        // statements in flight never wait for each other's rows (no deadlock, no overtaking).
        if (batch.length >= MAX_BATCH || convs.has(c) || this.busy.has(c)) rest.push(p);
        else {
          convs.add(c);
          batch.push(p);
        }
      }
      if (batch.length === 0) return;
      this.queue.splice(0, this.queue.length, ...rest);
      for (const c of convs) this.busy.add(c);
      this.inFlight++;
      void this.run(batch).finally(() => {
        for (const c of convs) this.busy.delete(c);
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const stored = await this.write(batch.map((p) => p.item));
      for (const p of batch) p.resolve(stored.has(p.item.responseId));
    } catch (err) {
      if (batch.length === 1 || isDatabaseUnavailable(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      // One question's failure must not fail the others: each on its own.
      await Promise.all(batch.map(async (p) => {
        try {
          p.resolve((await this.write([p.item])).has(p.item.responseId));
        } catch (e) {
          p.reject(e);
        }
      }));
    }
  }

  private async write(items: NewResponse[]): Promise<Set<string>> {
    const col = (f: (n: NewResponse) => string | null) => items.map(f);
    const rows = await this.db.query<{ id: string }>(
      SQL,
      [
        col((n) => n.conversationId), col((n) => n.userId), col((n) => n.assistant), col((n) => n.at.toISOString()),
        col((n) => n.responseId), col((n) => n.messageId), col((n) => n.claims), col((n) => n.deadline.toISOString()),
        col((n) => n.text), col((n) => n.event), col((n) => n.traceId), CHANNEL_EVENTS, CHANNEL_JOBS,
      ],
      { name: 'create-responses' },
    );
    this.stats.statements++;
    this.stats.stored += rows.length;
    return new Set(rows.map((r) => r.id));
  }
}

const batchers = new WeakMap<Db, CreateBatcher>();

/** The process's batcher for this database. */
export function createBatcher(db: Db): CreateBatcher {
  let b = batchers.get(db);
  if (!b) {
    b = new CreateBatcher(db);
    batchers.set(db, b);
  }
  return b;
}
