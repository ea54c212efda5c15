import type { AskingUser } from '../assistant/engine.ts';
import type { Config } from '../config.ts';
import type { Db } from '../store/db.ts';
import type { Keys } from '../store/secrets.ts';
import type { Response } from '../protocol/schemas.ts';
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
}

/** Who is calling and through which assistant; everything a user sees is scoped by both. */
export interface Caller {
  user: AskingUser;
  assistant: string;
}

/** NOTIFY channels. */
export const CHANNEL_JOBS = 'parley_jobs';
export const CHANNEL_EVENTS = 'parley_events';

export function iso(v: Date | string): string {
  return (v instanceof Date ? v : new Date(v)).toISOString();
}

/** Deps for a process (main.ts, CLI commands, tests). */
export function makeDeps(db: Db, keys: Keys, config: Config): CoreDeps {
  return { db, keys, config, now: () => new Date(), finished: new Lru(5000) };
}
