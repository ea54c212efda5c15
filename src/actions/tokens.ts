import { createHash, createHmac } from 'node:crypto';
import { openToken, sealToken } from '../core/signed.ts';
import type { Keys } from '../store/secrets.ts';

/** What pressing a button of a confirmation does. */
export type Choice = 'confirm' | 'cancel';

export const CHOICE_LABELS: Record<Choice, string> = { confirm: 'Confirm', cancel: 'Cancel' };

/** Its own key (derived from the callback key), so a feedback callback id can never pass for an action's. */
function actionKey(keys: Keys): Buffer {
  return createHmac('sha256', keys.callback).update('parley-action-callback').digest();
}

/** The user's id as the token binds it: a digest, so the id itself is not spelled out in every button. */
function userTag(userId: string): string {
  return createHash('sha256').update(userId).digest().subarray(0, 9).toString('base64url');
}

export interface ActionCallback {
  callId: string;
  conversationId: string;
  choice: Choice;
}

/**
 * The opaque `callback_id` of a confirmation button: signed, bound to the user, the conversation, the pending
 * call and the choice. Single use is the database's job (plugin_calls.status), not the token's.
 */
export function actionCallbackId(keys: Keys, userId: string, cb: ActionCallback): string {
  return sealToken(actionKey(keys), { a: cb.callId, v: cb.conversationId, u: userTag(userId), d: cb.choice === 'confirm' ? 'c' : 'x' });
}

/** The call and choice a callback id names for this user, or null when it is malformed, forged or someone else's. */
export function readActionCallbackId(keys: Keys, userId: string, callbackId: string): ActionCallback | null {
  const p = openToken(actionKey(keys), callbackId) as { a?: unknown; v?: unknown; u?: unknown; d?: unknown } | null;
  if (!p || typeof p.a !== 'string' || typeof p.v !== 'string' || p.u !== userTag(userId) || (p.d !== 'c' && p.d !== 'x')) return null;
  return { callId: p.a, conversationId: p.v, choice: p.d === 'c' ? 'confirm' : 'cancel' };
}

/**
 * The label of the button a stored callback id came from, for dialects without callback content (BETA). Reads the
 * payload without checking the signature: the id was verified when it was accepted, and this only names a button.
 */
export function callbackLabelOf(callbackId: string): string {
  try {
    const body = callbackId.slice(0, callbackId.indexOf('.'));
    const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { d?: unknown };
    return p.d === 'x' ? CHOICE_LABELS.cancel : CHOICE_LABELS.confirm;
  } catch {
    return CHOICE_LABELS.confirm;
  }
}
