import type { AskingUser } from '../assistant/engine.ts';
import type { Config } from '../config.ts';
import type { Db } from '../store/db.ts';
import type { Keys } from '../store/secrets.ts';
import type { Message, Response } from '../protocol/schemas.ts';
import { DeletionWatch } from './deletion-watch.ts';
import { Lru } from './lru.ts';

/** What core functions need, passed in from main.ts (no module-level singletons). */
export interface CoreDeps {
  db: Db;
  keys: Keys;
  config: Config;
  now: () => Date;
  /**
   * Finished responses by (user, assistant, conversation, response). A COMPLETED or FAILED response never
   * changes again, so any node may serve it from memory; unfinished ones always come from the database.
   */
  finished: Lru<string, Response>;
  /**
   * Rendered messages by (user, assistant, conversation). Messages are only ever inserted, in the transaction that
   * creates or finishes their response, so a rendered one never goes stale; ownership is still checked in the
   * database on every conversation list (messages.ts). Whoever deletes a conversation must evict its entry.
   */
  messages: Lru<string, ConversationCache>;
  /** Conversation deletions heard by this node: whether a cache hit may be served from memory alone. */
  deletions: DeletionWatch;
}

export interface ConversationCache {
  /** By message id. */
  messages: Map<string, CachedMessage>;
  /** The message list of each finished response, by response id (it never changes once the response is finished). */
  responses: Map<string, { messages: Message[] }>;
  /**
   * Whole pages of the conversation's message list by `<before>:<limit>`, with the watch's stamp taken before they
   * were read (embedded database) or the conversation row's version they were read with (PostgreSQL; core/messages.ts).
   */
  pages?: Map<string, { stamp: number; version: string | undefined; page: { messages: Message[]; metadata: { next_cursor: string | null } } }>;
}

export interface CachedMessage {
  /** The message's keyset position (messages.pos), to know which cached messages a page can contain. */
  pos: number;
  message: Message;
}

/** Who is calling and through which assistant; everything a user sees is scoped by both. */
export interface Caller {
  user: AskingUser;
  assistant: string;
}

/** NOTIFY channels. */
export const CHANNEL_JOBS = 'parley_jobs';
export const CHANNEL_EVENTS = 'parley_events';
/**
 * The events-channel tag sent (at commit) whenever messages are added to a conversation (`<conversation id>:messages`):
 * a question stored, an answer finished. Nodes drop cached message pages of that conversation (core/messages.ts).
 */
export const MESSAGES_TAG = 'messages';

export function iso(v: Date | string): string {
  return (v instanceof Date ? v : new Date(v)).toISOString();
}

/** Deps for a process (main.ts, CLI commands, tests). */
export function makeDeps(db: Db, keys: Keys, config: Config): CoreDeps {
  return {
    db,
    keys,
    config,
    now: () => new Date(),
    finished: new Lru(5000),
    messages: new Lru(500),
    deletions: new DeletionWatch(() => db.notificationsLive()),
  };
}
