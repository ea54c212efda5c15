import { finalMessage } from './contract.ts';
import { arr, obj, type Obj, type Runner } from './runner.ts';
import { OPS, pollResponse, type ScenarioOptions } from './scenario.ts';

/** The question that asks the server to do something needing confirmation (the demo's VPN password reset). */
export const DEFAULT_ACTION_QUESTION = 'reset my VPN password';

/** The document's create-response input takes a `callback_id` (V1): message actions can be driven. */
export function acceptsCallbacks(r: Runner): boolean {
  const op = r.spec.operation(OPS.createResponse);
  if (!op) return false;
  return JSON.stringify(r.spec.doc).includes('"callback_id"') && JSON.stringify(r.spec.at('/components/schemas') ?? {}).includes('CALLBACK_ACTION');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * V1 message actions: ask for something the server does behind a confirmation, check the offered message's
 * `actions` (validated with the response), press the first CALLBACK_ACTION through `input.callback_id`, check the
 * user message is CALLBACK_ACTION_CONTENT echoing it, and that a second use of the same id is refused (400).
 * A server that offers no action for the question is reported as a skipped check, not a failure.
 */
export async function actionChecks(r: Runner, o: ScenarioOptions & { actionQuestion: string }): Promise<void> {
  const auth = { token: o.token, assistant: o.assistant };
  const conv = str(obj((await r.exchange(OPS.createConversation, 'for actions', '/conversations', { ...auth, body: {} }, { status: 201 })).json)['conversation_id']);
  if (!conv) return;
  const asked = await r.exchange(OPS.createResponse, 'action question', `/conversations/${conv}/responses`, { ...auth, body: { input: { text: o.actionQuestion } } }, { status: 202 });
  const askedId = str(obj(asked.json)['response_id']);
  if (!askedId) return;
  const offered = finalMessage(await pollResponse(r, o, conv, askedId));
  const actions = arr(offered?.['actions']).map(obj);
  const callback = actions.find((a) => a['type'] === 'CALLBACK_ACTION');
  const callbackId = str(obj(callback?.['callback_action'])['callback_id']);
  if (!callbackId) {
    r.results.push({ ok: true, skipped: true, operation: 'actions', status: null, label: `no CALLBACK_ACTION offered for ${JSON.stringify(o.actionQuestion)}`, errors: [] });
    return;
  }
  const pressed = await r.exchange(OPS.createResponse, 'input.callback_id', `/conversations/${conv}/responses`, { ...auth, body: { input: { callback_id: callbackId } } }, {
    status: 202,
    check: (x) => (x['status'] === 'CREATED' ? undefined : `status is ${String(x['status'])}; create returns CREATED`),
  });
  const pressedId = str(obj(pressed.json)['response_id']);
  if (!pressedId) return;
  const done = await pollResponse(r, o, conv, pressedId);
  if (!finalMessage(done)) return;
  await r.exchange(OPS.listResponseMessages, 'after a callback', `/conversations/${conv}/responses/${pressedId}/messages`, auth, {
    status: 200,
    check: (l) => {
      const user = arr(l['messages']).map(obj).find((m: Obj) => m['actor'] === 'USER');
      const content = obj(user?.['content']);
      if (content['type'] !== 'CALLBACK_ACTION_CONTENT') return `the user message is ${String(content['type'])}, expected CALLBACK_ACTION_CONTENT`;
      return obj(content['callback_action'])['callback_id'] === callbackId ? undefined : 'the user message does not echo the callback_id sent';
    },
  });
  await r.exchange(OPS.createResponse, 'callback_id used twice', `/conversations/${conv}/responses`, { ...auth, body: { input: { callback_id: callbackId } } }, { status: 400 });
}
