import { z } from 'zod';
/**
 * Typed principals (contract §8): who an access list (a document's, an assistant's) names, and who a user is.
 *
 *   group:<name>     a group (token `groups` claim, or the directory's groups for a verified email)
 *   user:<sub>       one token subject, matched exactly (subjects are case-sensitive)
 *   email:<address>  a verified email address (case-insensitive)
 *   *                everyone who may use the assistant
 *
 * A plain name means a group. `everyone`, `all` and `public` are kept as spellings of `*`. An empty list (or one
 * with only blank entries) means nobody but admins: it is stored as the reserved `role:admin`, which only a
 * token carrying the admin group holds. This module is the one place access lists are parsed and user
 * principals are made, so stored lists and asked-for principals always share one spelling.
 */
import type { AskingUser } from '../assistant/engine.ts';
import type { Knowledge } from './types.ts';

/** The principal every user holds. */
export const EVERYONE = '*';
/** The principal an empty access list becomes: held only by admins (tokens carrying the admin group). */
export const ADMINS_ONLY = 'role:admin';

/** Longest accepted entry, in UTF-16 units (an email address is at most 320 characters, plus the prefix). */
const MAX_ENTRY = 330;
const PUBLIC_ALIASES = new Set(['*', 'everyone', 'all', 'public']);

/** A malformed access-list entry; the message names the entry and says how to write it. */
export class AccessListError extends Error {
  override name = 'AccessListError';
}

/**
 * Validates and normalises an access list (front matter, sidecar, admin ingest, configuration) into its stored
 * form: typed, lower-cased except `user:` subjects, de-duplicated, sorted; `['*']` when it includes everyone;
 * `['role:admin']` when it names nobody. Throws AccessListError on a malformed entry (unknown type, empty
 * name, control characters, ill-formed Unicode, too long), so a typo never silently widens or narrows access.
 */
export function parseAccessList(list: readonly unknown[]): string[] {
  const out = new Set<string>();
  for (const raw of list) {
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      throw new AccessListError(`access list entries must be strings, got ${raw === null ? 'null' : typeof raw}`);
    }
    const entry = String(raw).trim();
    if (!entry) continue;
    out.add(parseEntry(entry));
  }
  if (out.has(EVERYONE)) return [EVERYONE];
  if (out.size === 0) return [ADMINS_ONLY];
  return [...out].sort();
}

function parseEntry(entry: string): string {
  const shown = JSON.stringify(entry.length > 60 ? entry.slice(0, 60) + '…' : entry);
  if (entry.length > MAX_ENTRY) throw new AccessListError(`access list entry ${shown} is longer than ${MAX_ENTRY} characters`);
  if (!isCleanString(entry)) throw new AccessListError(`access list entry ${shown} contains control characters or ill-formed Unicode`);
  if (PUBLIC_ALIASES.has(entry.toLowerCase())) return EVERYONE;
  const colon = entry.indexOf(':');
  if (colon < 0) return group(entry, shown);
  const type = entry.slice(0, colon).trim().toLowerCase();
  const name = entry.slice(colon + 1).trim();
  switch (type) {
    case 'group':
      return group(name, shown);
    case 'user':
      if (!name) throw new AccessListError(`access list entry ${shown} names no subject (write user:<sub>)`);
      return `user:${name}`;
    case 'email':
      if (!/^[^\s@]+@[^\s@]+$/.test(name)) throw new AccessListError(`access list entry ${shown} is not an email address (write email:<address>)`);
      return `email:${name.toLowerCase()}`;
    case 'role':
      if (name.toLowerCase() === 'admin') return ADMINS_ONLY;
      throw new AccessListError(`access list entry ${shown}: the only role is role:admin`);
    default:
      throw new AccessListError(
        `access list entry ${shown} has an unknown type "${type}": use group:<name>, user:<sub>, email:<address> or * (a plain name means a group)`,
      );
  }
}

function group(name: string, shown: string): string {
  if (!name) throw new AccessListError(`access list entry ${shown} names no group (write group:<name>)`);
  if (/\s/.test(name)) throw new AccessListError(`access list entry ${shown}: a group name has no spaces`);
  return `group:${name.toLowerCase()}`;
}

/** True when `s` is text PostgreSQL can store and Unicode can name: no NUL and no lone surrogates. */
export function isWellFormedText(s: string): boolean {
  return !/\u0000|\p{Cs}/u.test(s);
}

/**
 * Stricter, for identifiers (subjects, groups, access entries): true when `s` holds no C0 control characters other than tab/newline/CR, no DEL, and no lone surrogates (strings
 * PostgreSQL refuses or that would let two different subjects collapse into one).
 */
export function isCleanString(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|\p{Cs}/u.test(s);
}

/**
 * The principals a user holds: `*`, `user:<sub>`, `email:<address>` when the email is verified, `group:<g>` for
 * each of `user.groups` (token groups, plus directory groups once `withDirectoryGroups` added them), and
 * `role:admin` for an admin token.
 */
export function principalsOf(user: AskingUser): string[] {
  const out = new Set<string>([EVERYONE, `user:${user.id}`]);
  if (user.email && user.emailVerified) out.add(`email:${user.email.toLowerCase()}`);
  for (const g of user.groups) if (g.trim()) out.add(`group:${g.trim().toLowerCase()}`);
  if (user.admin) out.add(ADMINS_ONLY);
  return [...out];
}

/** True when a user holding `principals` is on `access` (a list in stored form). */
export function allowedBy(access: readonly string[], principals: readonly string[]): boolean {
  const held = new Set(principals);
  return access.some((p) => held.has(p));
}

/**
 * The address the directory is looked up by: the verified email, else the subject when it is itself an email
 * address (an identity provider that uses addresses as subjects vouches for them). An unverified `email` claim
 * is never used: anyone who can get a token could otherwise claim an HR person's address and their groups.
 */
export function directoryKey(user: AskingUser): string | undefined {
  if (user.email && user.emailVerified) return user.email;
  if (/^[^\s@]+@[^\s@]+$/.test(user.id)) return user.id;
  return undefined;
}

/** Who a user is, for access lists: their principals with the directory's groups added (see `directoryKey`). */
export async function resolvePrincipals(knowledge: Knowledge, assistant: string, user: AskingUser): Promise<string[]> {
  return principalsOf(await withDirectoryGroups(knowledge, assistant, user));
}

/**
 * Lookups in flight or done, per user object and assistant: the parts of one answer (the action plugins' access
 * check, the engine's retrieval) hold the same user object, so they share one directory read. Kept only as long
 * as that object lives (one request or one answer).
 */
const resolved = new WeakMap<AskingUser, Map<string, Promise<AskingUser>>>();

/** The user with directory groups added (what the worker can pass to any engine). Never adds admin. */
export function withDirectoryGroups(knowledge: Knowledge, assistant: string, user: AskingUser): Promise<AskingUser> {
  const key = directoryKey(user);
  if (!key) return Promise.resolve(user);
  let byAssistant = resolved.get(user);
  if (!byAssistant) resolved.set(user, (byAssistant = new Map()));
  let found = byAssistant.get(assistant);
  if (!found) {
    found = (async () => {
      const person = await knowledge.getPersonByEmail(assistant, key);
      if (!person || !person.groups.length) return user;
      return { ...user, groups: [...new Set([...user.groups, ...person.groups])] };
    })();
    byAssistant.set(assistant, found);
    // A failed read is not remembered: the next caller asks again.
    found.catch(() => byAssistant.delete(assistant));
  }
  return found;
}

/** A configured access list (assistants' and plugins' `allow`): typed principals, default everyone; a bad entry is a
 * configuration error naming it. */
export const accessListSchema = z
  .array(z.string())
  .default(['*'])
  .transform((list, ctx) => {
    try {
      return parseAccessList(list);
    } catch (err) {
      if (!(err instanceof AccessListError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  });
