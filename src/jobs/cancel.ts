import { CHANNEL_JOBS, type Caller, type CoreDeps } from '../core/deps.ts';
import { getResponse, requireResponse } from '../core/responses.ts';
import type { Response } from '../protocol/schemas.ts';
import { failResponse } from './failure.ts';
import type { NotifyHub } from './hub.ts';

/** The `error` of a cancelled response. */
export const CANCELLED = { code: 'CANCELLED', message: 'The response was cancelled.' } as const;

/** The jobs-channel tag that tells the worker holding a response to abort it (`<response id>:cancel`). */
export const CANCEL_TAG = 'cancel';

/**
 * Cancel (extension, contract §4): a CREATED or IN_PROGRESS response ends FAILED with `error.code CANCELLED`
 * at once, on whichever node is asked. The FAILED row, its RESPONSE_FAILED event (which ends every stream) and a
 * `<id>:cancel` notification on the jobs channel commit together; the worker answering it, on any node, hears
 * the notification and aborts its engine and model request. Its lease is gone with the FAILED row, so nothing it
 * still tries to write lands. A finished response is returned unchanged.
 */
export async function cancelResponse(deps: CoreDeps, caller: Caller, conversationId: string, responseId: string, local?: NotifyHub): Promise<Response> {
  const row = await requireResponse(deps.db, caller, conversationId, responseId);
  if (row.status === 'CREATED' || row.status === 'IN_PROGRESS') {
    await failResponse(deps, row.id, { ...CANCELLED }, undefined, local, {
      wait: true,
      notify: { channel: CHANNEL_JOBS, payload: `${row.id}:${CANCEL_TAG}` },
    });
  }
  return getResponse(deps, caller, conversationId, responseId);
}
