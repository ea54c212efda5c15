/** Who a user is, for access lists: token principals plus the groups the directory lists for their email. */
import { principalsOf, type AskingUser } from '../assistant/engine.ts';
import type { Knowledge } from './types.ts';

/**
 * The user's principals (`principalsOf`: `*`, id, email, token groups) plus the `groups` of the directory entry
 * whose email equals the user's email. Lower-cased, as access lists are stored lower-cased.
 */
export async function resolvePrincipals(knowledge: Knowledge, assistant: string, user: AskingUser): Promise<string[]> {
  const out = new Set(principalsOf(user).map((p) => p.toLowerCase()));
  if (user.email) {
    const person = await knowledge.getPersonByEmail(assistant, user.email);
    if (person) for (const g of person.groups) out.add(g.toLowerCase());
  }
  return [...out];
}

/** The user with directory groups added (what the worker can pass to any engine). */
export async function withDirectoryGroups(knowledge: Knowledge, assistant: string, user: AskingUser): Promise<AskingUser> {
  if (!user.email) return user;
  const person = await knowledge.getPersonByEmail(assistant, user.email);
  if (!person || !person.groups.length) return user;
  return { ...user, groups: [...new Set([...user.groups, ...person.groups])] };
}
