/**
 * Actions around any engine: before the engine answers, a question that asks to do what a plugin does gets the
 * plugin instead — at once, or behind a confirmation (Confirm / Cancel buttons in V1, "reply yes" in BETA) — and
 * the answer to a confirmation runs the call it names, exactly once. Everything else goes to the engine as before.
 */
import type { Logger } from 'pino';
import type { ActionTools, AskingUser, Engine, EngineAction, EngineEvent, EngineRequest } from '../assistant/engine.ts';
import { allowedBy, resolvePrincipals } from '../knowledge/principals.ts';
import type { Knowledge } from '../knowledge/types.ts';
import type { Db } from '../store/db.ts';
import type { Keys } from '../store/secrets.ts';
import type { PluginConfig } from './config.ts';
import { bestPlugin, knowledgeScore } from './match.ts';
import { fillInputs, runPlugin, type CallResult, type Inputs } from './run.ts';
import * as store from './store.ts';
import { escapeMarkdown, renderText } from './template.ts';
import { actionCallbackId, CHOICE_LABELS, readActionCallbackId } from './tokens.ts';

export interface ActionsDeps {
  db: Db;
  keys: Keys;
  plugins: PluginConfig[];
  knowledge: Knowledge;
  log: Logger;
  now: () => Date;
}

const YES = /^(yes|y|yeah|yep|sure|ok|okay|confirm|confirmed|do it|go ahead|please do|yes please)[\s.!]*$/i;
const NO = /^(no|n|nope|cancel|stop|don'?t|do not|no thanks)[\s.!]*$/i;

/**
 * Wraps `inner` with the configured plugins. With none, only a button pressed before they were removed is
 * answered here (saying so); everything else goes straight to `inner`.
 */
export function withActions(inner: Engine, deps: ActionsDeps): Engine {
  return {
    name: inner.name,
    endpoint: inner.endpoint,
    offersActionTools: inner.offersActionTools,
    answer: (req) => answer(inner, deps, req),
  };
}

async function* answer(inner: Engine, deps: ActionsDeps, req: EngineRequest): AsyncGenerator<EngineEvent> {
  if (req.inputCallbackId !== undefined) {
    yield* answerCallback(deps, req, req.inputCallbackId);
    return;
  }
  if (deps.plugins.length === 0) {
    yield* inner.answer(req);
    return;
  }
  const reply = req.input.trim();
  if (reply.length <= 20 && (YES.test(reply) || NO.test(reply))) {
    const claimed = await store.claimByReply(deps.db, req.user.id, req.conversationId, req.responseId, YES.test(reply), deps.now());
    if (claimed) {
      yield* answerDecided(deps, req, claimed);
      return;
    }
  }
  if (inner.offersActionTools) {
    yield* withTools(inner, deps, req);
    return;
  }
  const chosen = await choosePlugin(deps, req);
  if (!chosen) {
    yield* inner.answer(req);
    return;
  }
  yield* propose(deps, req, chosen);
}

/** The plugins this user may use through this assistant (allow lists by typed principals, as for assistants). */
async function allowedPlugins(deps: ActionsDeps, req: EngineRequest): Promise<{ allowed: PluginConfig[]; principals: string[] }> {
  const offered = deps.plugins.filter((p) => !p.assistants || p.assistants.includes(req.assistant));
  if (offered.length === 0) return { allowed: [], principals: [] };
  const principals = await resolvePrincipals(deps.knowledge, req.assistant, req.user);
  return { allowed: offered.filter((p) => allowedBy(p.allow, principals)), principals };
}

/** The plugin the question asks for, if the user may use it and it fits better than any article they may read. */
async function choosePlugin(deps: ActionsDeps, req: EngineRequest): Promise<PluginConfig | null> {
  const { allowed, principals } = await allowedPlugins(deps, req);
  if (allowed.length === 0) return null;
  const match = bestPlugin(req.input, allowed);
  if (!match) return null;
  const hits = await deps.knowledge.search(req.assistant, principals, req.input, { limit: 5 });
  // Ties go to knowledge: an article that reads like the request is the safer answer.
  return match.score > knowledgeScore(req.input, hits) ? match.plugin : null;
}

function message(text: string, actions: EngineAction[] = []): EngineEvent {
  return { type: 'message', text, citations: [], references: [], ...(actions.length ? { actions } : {}) };
}

async function traceIdOf(deps: ActionsDeps, req: EngineRequest): Promise<string | null> {
  if (req.traceId !== undefined) return req.traceId;
  const rows = await deps.db.query<{ trace_id: string | null }>(`SELECT trace_id FROM responses WHERE id = $1`, [req.responseId]);
  return rows[0]?.trace_id ?? null;
}

/**
 * An engine whose model calls actions as tools. The confirmation rule is the same: a tool of a confirmed action
 * only records the offer, and the answer carries the buttons; the call waits for the user.
 */
async function* withTools(inner: Engine, deps: ActionsDeps, req: EngineRequest): AsyncGenerator<EngineEvent> {
  const { allowed } = await allowedPlugins(deps, req);
  if (allowed.length === 0) {
    yield* inner.answer(req);
    return;
  }
  const attached: EngineAction[] = [];
  let offered = false;
  const traceId = await traceIdOf(deps, req);
  const tools: ActionTools = {
    tools: allowed.map((p) => ({
      name: p.name,
      description: p.description,
      params: Object.entries(p.inputs)
        .filter(([, spec]) => !spec.from)
        .map(([name, spec]) => ({ name, type: spec.type, description: spec.description })),
    })),
    invoke: async (name, args) => {
      const plugin = allowed.find((p) => p.name === name);
      if (!plugin) return 'No such action.';
      const filled = fillInputs(plugin, req.user, req.input);
      if ('missing' in filled) return `This action cannot be used here: ${filled.missing}.`;
      const inputs: Inputs = { ...filled.inputs };
      // The model may set only inputs without `from`, and only to a value of their type (the tool schema).
      for (const [k, spec] of Object.entries(plugin.inputs)) {
        const v = args[k];
        if (!spec.from && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && typeof v === spec.type) inputs[k] = v;
      }
      const call: store.NewCall = { assistant: req.assistant, userId: req.user.id, conversationId: req.conversationId, responseId: req.responseId, plugin: name, inputs, traceId };
      if (plugin.confirm) {
        if (offered) return 'Only one action can wait for confirmation per answer; ask the user to confirm the first one.';
        offered = true;
        const id = await store.insertPending(deps.db, call, deps.now());
        attached.push(...confirmButtons(deps, req, id));
        const what = plugin.confirmText ? renderText(plugin.confirmText, inputs) : escapeMarkdown(plugin.description);
        return `Not done yet: the user must confirm first. The answer shows Confirm and Cancel buttons. Tell the user in one sentence what will happen (${what}) and that nothing happens until they confirm. Do not say it is done.`;
      }
      const id = await store.insertRunning(deps.db, call, deps.now());
      const out = await runPlugin(plugin, inputs);
      await store.finishCall(deps.db, id, out, deps.now());
      if (!out.ok || !out.result) return failureText(plugin, out.reason ?? 'it failed', traceId);
      if (out.result.url) attached.push({ type: 'url', label: plugin.result.urlLabel, url: out.result.url });
      return out.result.url ? `${out.result.text}\nLink: ${out.result.url}` : out.result.text;
    },
  };
  for await (const ev of inner.answer({ ...req, actionTools: tools })) {
    if (ev.type !== 'message' || attached.length === 0) {
      yield ev;
      continue;
    }
    // Every snapshot carries the actions so far; BETA, which shows no buttons, is told how to confirm.
    const confirming = attached.some((a) => a.type === 'callback');
    const text = confirming && !/reply \*\*yes\*\*/i.test(ev.text) ? `${ev.text}\n\nReply **yes** to confirm or **no** to cancel.` : ev.text;
    yield { ...ev, text, actions: [...(ev.actions ?? []), ...attached] };
  }
}

function confirmButtons(deps: ActionsDeps, req: EngineRequest, callId: string): EngineAction[] {
  const cb = (choice: 'confirm' | 'cancel') => actionCallbackId(deps.keys, req.user.id, { callId, conversationId: req.conversationId, choice });
  return [
    { type: 'callback', label: CHOICE_LABELS.confirm, callbackId: cb('confirm') },
    { type: 'callback', label: CHOICE_LABELS.cancel, callbackId: cb('cancel') },
  ];
}

/** Confirm first (a pending call and its two buttons), or call at once. */
async function* propose(deps: ActionsDeps, req: EngineRequest, plugin: PluginConfig): AsyncGenerator<EngineEvent> {
  const filled = fillInputs(plugin, req.user, req.input);
  if ('missing' in filled) {
    yield message(`I can't ${lowerFirst(plugin.description)} here: ${filled.missing}.`);
    return;
  }
  const call: store.NewCall = {
    assistant: req.assistant,
    userId: req.user.id,
    conversationId: req.conversationId,
    responseId: req.responseId,
    plugin: plugin.name,
    inputs: filled.inputs,
    traceId: await traceIdOf(deps, req),
  };
  if (!plugin.confirm) {
    yield { type: 'reasoning', text: `Using the action “${escapeMarkdown(plugin.description)}”.` };
    const id = await store.insertRunning(deps.db, call, deps.now());
    yield* finish(deps, plugin, id, filled.inputs, call.traceId);
    return;
  }
  const id = await store.insertPending(deps.db, call, deps.now());
  const question = plugin.confirmText ? renderText(plugin.confirmText, filled.inputs) : `${escapeMarkdown(plugin.description)}?`;
  const shown = Object.entries(filled.inputs).filter(([k]) => !plugin.inputs[k]?.secret && plugin.inputs[k]?.from !== 'question');
  const details = shown.map(([k, v]) => `- ${escapeMarkdown(k)}: ${escapeMarkdown(String(v))}`).join('\n');
  const text = `${question}${details ? `\n\n${details}` : ''}\n\nReply **yes** to confirm or **no** to cancel.`;
  yield message(text, confirmButtons(deps, req, id));
}

/** A button pressed (V1): the create request already claimed the call for this response. */
async function* answerCallback(deps: ActionsDeps, req: EngineRequest, callbackId: string): AsyncGenerator<EngineEvent> {
  const cb = readActionCallbackId(deps.keys, req.user.id, callbackId);
  const row = cb ? await store.callForResponse(deps.db, cb.callId, req.user.id, req.responseId) : null;
  if (!row) {
    yield message('That action is no longer available.');
    return;
  }
  yield* answerDecided(deps, req, row);
}

/** Runs (or reports) a call the user has decided on. Safe to repeat: the call itself starts only once. */
async function* answerDecided(deps: ActionsDeps, req: EngineRequest, row: store.CallRow): AsyncGenerator<EngineEvent> {
  const plugin = deps.plugins.find((p) => p.name === row.plugin);
  if (row.status === 'CANCELLED') {
    yield message('Cancelled: nothing was done.');
    return;
  }
  if (!plugin) {
    yield message('That action is no longer configured: nothing was done.');
    return;
  }
  // The plugin may have been withdrawn from this user since it was offered.
  const principals = await resolvePrincipals(deps.knowledge, req.assistant, req.user);
  if (!allowedBy(plugin.allow, principals)) {
    yield message('That action is no longer available to you: nothing was done.');
    return;
  }
  if (row.status === 'CONFIRMED' && (await store.startConfirmed(deps.db, row.id, deps.now()))) {
    yield* finish(deps, plugin, row.id, row.inputs as Inputs, row.trace_id ?? (await traceIdOf(deps, req)));
    return;
  }
  // A retried answer (its worker died): report what the first attempt did, never call again.
  const again = await store.callForResponse(deps.db, row.id, req.user.id, req.responseId);
  if (again?.status === 'SUCCEEDED' && again.result) yield resultMessage(plugin, again.result);
  else if (again?.status === 'FAILED') yield message(failureText(plugin, 'it did not complete', await traceIdOf(deps, req)));
  else yield message(`“${escapeMarkdown(plugin.description)}” was started but its outcome is unknown; check before trying again.`);
}

/** Makes the call, records the outcome, answers with it. */
async function* finish(deps: ActionsDeps, plugin: PluginConfig, callId: string, inputs: Inputs, traceId: string | null): AsyncGenerator<EngineEvent> {
  const out: CallResult = await runPlugin(plugin, inputs);
  await store.finishCall(deps.db, callId, out, deps.now());
  if (out.ok && out.result) {
    yield resultMessage(plugin, out.result);
    return;
  }
  deps.log.warn({ plugin: plugin.name, call: callId, error: out.error, trace_id: traceId }, 'plugin call failed');
  yield message(failureText(plugin, out.reason ?? 'it failed', traceId));
}

function resultMessage(plugin: PluginConfig, result: { text: string; url?: string }): EngineEvent {
  if (!result.url) return message(result.text);
  // The link in the text too: BETA shows no actions.
  const label = plugin.result.urlLabel;
  return message(`${result.text}\n\n[${escapeMarkdown(label)}](${result.url})`, [{ type: 'url', label, url: result.url }]);
}

function failureText(plugin: PluginConfig, reason: string, traceId: string | null): string {
  return `Sorry, “${escapeMarkdown(plugin.description)}” did not work: ${reason}.${traceId ? ` Trace id: \`${traceId}\`.` : ''}`;
}

function lowerFirst(s: string): string {
  return escapeMarkdown(s.charAt(0).toLowerCase() + s.slice(1));
}

export type { AskingUser };
