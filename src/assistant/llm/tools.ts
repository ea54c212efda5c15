/**
 * The two tools the model may call. Both run with the asking user's principals only, so a tool result (and
 * therefore the model) never holds a document the user may not see.
 */
import { tool, zodSchema } from 'ai';
import { z } from 'zod';
import type { ActionTools } from '../engine.ts';
import type { Knowledge, KnowledgeHit, Person } from '../../knowledge/types.ts';
import { truncateCodePoints } from '../text.ts';
import { personSummary, type SourceRegistry } from './sources.ts';

const SEARCH_LIMIT = 6;
const PEOPLE_LIMIT = 3;
const MAX_PASSAGE = 1500;
const MAX_REPORTS = 15;

export interface ToolContext {
  knowledge: Knowledge;
  assistant: string;
  principals: readonly string[];
  sources: SourceRegistry;
  /** Searches and directory lookups this answer may still run (shared by both tools, across all rounds). */
  budget: { left: number; max: number };
  /** The actions this user may ask for (issue 10), each offered as `action_<name>`. */
  actions?: ActionTools | undefined;
}

/** Per answer: the tail of its tool runs. */
const queues = new WeakMap<ToolContext, Promise<unknown>>();

/**
 * Runs an answer's tool calls one after another in the order the model wrote them (the SDK starts a step's calls
 * together): sources are numbered in that order, so the same answer always gets the same [n].
 */
function inOrder<T>(ctx: ToolContext, fn: () => Promise<T>): Promise<T> {
  const run = (queues.get(ctx) ?? Promise.resolve()).then(fn, fn);
  queues.set(ctx, run.catch(() => undefined));
  return run;
}

/** Per answer: what was already asked (normalised), so a repeated query costs nothing and says so. */
const asked = new WeakMap<ToolContext, Map<string, string>>();

/**
 * Takes one unit of the answer's budget, or says why not: a repeat of an earlier query, or the budget spent.
 * Synchronous, so parallel tool calls of one step cannot overspend it.
 */
function admit(ctx: ToolContext, kind: string, value: string): string | null {
  let seen = asked.get(ctx);
  if (!seen) asked.set(ctx, (seen = new Map()));
  const key = `${kind}\u0000${value.toLowerCase().replace(/\s+/g, ' ').trim()}`;
  const earlier = seen.get(key);
  if (earlier !== undefined) return `Already ${earlier} in this answer: use those results, or try different words.`;
  if (ctx.budget.left <= 0) {
    return `Search limit reached (${ctx.budget.max} per answer): answer from the results you already have, or say that you could not find it.`;
  }
  ctx.budget.left--;
  seen.set(key, kind === 'search' ? `searched for “${value}”` : `looked up “${value}”`);
  return null;
}

const ACTION_PREFIX = 'action_';

/** One tool per action; a confirmed action's tool only offers it to the user (see ActionTools). */
function actionTools(actions: ActionTools | undefined) {
  const out: Record<string, ReturnType<typeof tool<Record<string, unknown>, string>>> = {};
  for (const a of actions?.tools ?? []) {
    const shape: Record<string, z.ZodType> = {};
    for (const p of a.params) {
      const base = p.type === 'number' ? z.number() : p.type === 'boolean' ? z.boolean() : z.string().max(500);
      shape[p.name] = base.optional().describe(p.description || p.name);
    }
    out[ACTION_PREFIX + a.name] = tool<Record<string, unknown>, string>({
      description: `Action: ${a.description}. Call it only when the user asks you to do this; if it needs their confirmation, the answer shows Confirm / Cancel buttons.`,
      inputSchema: z.object(shape) as unknown as z.ZodType<Record<string, unknown>>,
      execute: async (args) => actions!.invoke(a.name, args),
    });
  }
  return out;
}

// The built-in tools' inputs, made once: a schema object keeps its JSON Schema once converted, so each answer no
// longer converts them again (that conversion was a few per cent of an answer's CPU).
const SEARCH_INPUT = zodSchema(
  z.object({
    query: z.string().trim().min(1).max(500).describe('What to look for, in a few keywords or a short question'),
  }),
);
const LOOKUP_INPUT = zodSchema(
  z.object({
    name: z.string().trim().min(1).max(200).describe("The person's name (full or partial) or email"),
  }),
);

/** The tool set handed to `streamText`. */
export function buildTools(ctx: ToolContext) {
  return {
    search_knowledge: tool({
      description:
        'Search the company knowledge base (policies, how-tos, announcements, documents). ' +
        'Returns numbered passages; cite them as [n].',
      inputSchema: SEARCH_INPUT,
      execute: async ({ query }) => inOrder(ctx, () => searchKnowledge(ctx, query)),
    }),
    lookup_person: tool({
      description:
        'Look up a person in the company directory by name or email: role, department, email, location, ' +
        'manager and direct reports. Returns numbered entries; cite them as [n].',
      inputSchema: LOOKUP_INPUT,
      execute: async ({ name }) => inOrder(ctx, () => lookupPerson(ctx, name)),
    }),
    ...actionTools(ctx.actions),
  };
}

/** The reasoning message shown while a tool runs: it repeats the model's query, never a document. */
export function reasoningFor(toolName: string, input: unknown): string | null {
  const arg = (key: string): string => {
    const v = input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[key] : undefined;
    return typeof v === 'string' ? truncateCodePoints(v.trim(), 200) : '';
  };
  if (toolName === 'search_knowledge') return `Searching the knowledge base for “${arg('query')}”`;
  if (toolName === 'lookup_person') return `Looking up ${arg('name')} in the directory`;
  if (toolName.startsWith(ACTION_PREFIX)) return `Using the action ${toolName.slice(ACTION_PREFIX.length)}`;
  return null;
}

/** Below this share of the query's (rarity-weighted) words, a best passage is a weak match. */
const WEAK_COVERAGE = 0.5;

async function searchKnowledge(ctx: ToolContext, query: string): Promise<string> {
  const refused = admit(ctx, 'search', query);
  if (refused) return refused;
  const hits = await ctx.knowledge.search(ctx.assistant, ctx.principals, query, { limit: SEARCH_LIMIT });
  const left = ctx.budget.left > 0 ? ` (${ctx.budget.left} more ${ctx.budget.left === 1 ? 'search' : 'searches'} allowed)` : '';
  if (hits.length === 0) {
    return `No documents matched “${query}”.${left ? ` Try again with other words: synonyms, the likely name of the policy or document${left}.` : ''}`;
  }
  const body = hits.map((hit) => formatHit(ctx.sources.addHit(hit), hit)).join('\n\n');
  // Full-text coverage tells when the passages share only some words with the query: the model may then rephrase.
  const best = Math.max(...hits.map((h) => h.coverage ?? h.similarity ?? 1));
  if (best < WEAK_COVERAGE && left) {
    return `${body}\n\n(These passages match only part of “${query}”. If they do not answer the question, search again with other words${left}.)`;
  }
  return body;
}

function formatHit(n: number, hit: KnowledgeHit): string {
  const lines = [`[${n}] ${hit.title}${hit.heading ? ` — ${hit.heading}` : ''}`, `URL: ${hit.url}`];
  if (hit.updatedAt) lines.push(`Updated: ${hit.updatedAt}`);
  lines.push(truncateCodePoints(hit.text, MAX_PASSAGE));
  return lines.join('\n');
}

async function lookupPerson(ctx: ToolContext, name: string): Promise<string> {
  const refused = admit(ctx, 'lookup', name);
  if (refused) return refused;
  const matches = await ctx.knowledge.findPeople(ctx.assistant, name, { limit: PEOPLE_LIMIT });
  if (matches.length === 0) return `Nobody in the directory matched “${name}”.`;
  const entries: string[] = [];
  for (const [i, { person }] of matches.slice(0, PEOPLE_LIMIT).entries()) {
    const reports = await ctx.knowledge.directReports(ctx.assistant, person.id);
    entries.push(formatPerson(ctx.sources.addPerson(person), person, reports));
    // The best match's manager gets an entry of its own, so "who is her manager" can cite the manager.
    if (i === 0 && person.managerId) {
      const manager = await ctx.knowledge.getPerson(ctx.assistant, person.managerId);
      if (manager) {
        const n = ctx.sources.addPerson(manager);
        entries.push(`${formatPerson(n, manager, [])}\n(Manager of ${person.name})`);
      }
    }
  }
  return entries.join('\n\n');
}

function formatPerson(n: number, p: Person, reports: readonly Person[]): string {
  const lines = [`[${n}] ${p.name}`, personSummary(p)];
  const fields: [string, string][] = [
    ['Title', p.title],
    ['Department', p.department],
    ['Email', p.email],
    ['Phone', p.phone],
    ['Location', p.location],
    ['Manager', p.managerName ?? ''],
    ['Directory entry', p.url],
  ];
  for (const [label, value] of fields) if (value) lines.push(`${label}: ${value}`);
  if (reports.length > 0) {
    const shown = reports.slice(0, MAX_REPORTS).map((r) => (r.title ? `${r.name} (${r.title})` : r.name));
    const more = reports.length > MAX_REPORTS ? `, and ${reports.length - MAX_REPORTS} more` : '';
    lines.push(`Direct reports (${reports.length}): ${shown.join(', ')}${more}`);
  }
  return lines.join('\n');
}
