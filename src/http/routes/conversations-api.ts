import type { FastifyReply, FastifyRequest } from 'fastify';
import { shapeOnce } from '../json-cache.ts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createConversation, getConversation, listConversations, updateConversation } from '../../core/conversations.ts';
import { deleteConversation } from '../../core/deletion.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { listEvents } from '../../core/events.ts';
import { submitFeedback } from '../../core/feedback.ts';
import { withIdempotency } from '../../core/idempotency.ts';
import { listConversationMessages, listResponseMessages } from '../../core/messages.ts';
import { createResponse, getResponse, requireResponse } from '../../core/responses.ts';
import { cancelResponse } from '../../jobs/cancel.ts';
import type { NotifyHub } from '../../jobs/hub.ts';
import { ApiError } from '../../protocol/errors.ts';
import * as S from '../../protocol/schemas.ts';
import type { Message, Response } from '../../protocol/schemas.ts';
import { requireCaller } from '../auth.ts';
import type { Metrics } from '../metrics.ts';
import { streamEvents, type OpenStreams } from '../sse.ts';
import { readActionCallbackId } from '../../actions/tokens.ts';
import { betaFrameData, betaMessage, betaResponse } from './dialect-shapes.ts';

export interface BetaRouteDeps {
  deps: CoreDeps;
  events: NotifyHub;
  metrics: Metrics;
  open: OpenStreams;
  /** `beta` = `/rest/v1beta1` (`/openapi.json`); `v1` = `/assistant/v1` (`/openapi.json?dialect=v1`). */
  dialect: 'beta' | 'v1';
}

const errors = {
  400: S.ErrorResponse,
  401: S.ErrorResponse,
  403: S.ErrorResponse,
  404: S.ErrorResponse,
  429: S.ErrorResponse,
  500: S.ErrorResponse,
};
const headers = z.object({ 'assistant-name': z.string().optional(), 'idempotency-key': z.string().optional() }).loose();

function idempotencyKey(req: FastifyRequest): string | undefined {
  const v = req.headers['idempotency-key'];
  return Array.isArray(v) ? v[0] : v;
}

/** `Last-Event-ID` as a sequence number (undefined when absent or empty); anything else is 400. */
function lastEventIdOf(req: FastifyRequest): number | undefined {
  const raw = req.headers['last-event-id'];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new ApiError('INVALID_INPUT', 'Last-Event-ID must be a sequence number');
  return Number(v);
}

/** Contract §5: `Accept` absent, `*​/*` or including text/event-stream; anything else is 406. */
function acceptsEventStream(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const type = part.split(';')[0]!.trim().toLowerCase();
    return type === 'text/event-stream' || type === '*/*' || type === 'text/*';
  });
}

/**
 * The Conversations API in one of its dialects — every endpoint of the upstream file plus the resume extension.
 * A dialect only translates shapes (contract §1): V1 events carry `created_at`, and V1 input may be a
 * `callback_id` (an action of an earlier message) instead of text.
 */
/** A message list's BETA view (one function, so json-cache.ts can keep the view of a cached list). */
function betaMessages<T extends { messages: Message[] }>(out: T): T {
  return { ...out, messages: out.messages.map(betaMessage) };
}

export const conversationsApi: FastifyPluginAsyncZod<BetaRouteDeps> = async (app, { deps, events, metrics, open, dialect }) => {
  const createBody = dialect === 'v1' ? S.CreateResponseRequestV1 : S.CreateResponseRequest;
  const v1 = dialect === 'v1';
  // One schema set per dialect: V1's messages carry `actions` and callback content, BETA's are translated.
  const R = v1
    ? { Response: S.ResponseV1, Messages: S.ListConversationMessagesResponseV1, ResponseMessages: S.ListResponseMessagesResponseV1 }
    : { Response: S.Response, Messages: S.ListConversationMessagesResponse, ResponseMessages: S.ListResponseMessagesResponse };
  // A cached (immutable) body's BETA view is made once and kept with it (json-cache.ts).
  const shapeResponse = (r: Response) => (v1 ? r : shapeOnce(r, betaResponse));
  const shapeMessages = <T extends { messages: Message[] }>(out: T) => (v1 ? out : shapeOnce(out, betaMessages) as T);
  const frames = v1 ? {} : { transform: betaFrameData };

  app.get(
    '/conversations',
    { schema: { operationId: 'list-conversations', tags: ['conversations'], querystring: S.ListConversationsQuery, response: { 200: S.ListConversationsResponse, ...errors } } },
    async (req) => listConversations(deps, requireCaller(req), req.query),
  );

  app.post(
    '/conversations',
    { schema: { operationId: 'create-conversation', tags: ['conversations'], headers, body: S.CreateConversationRequest, response: { 201: S.Conversation, ...errors } } },
    async (req, reply) => {
      const caller = requireCaller(req);
      const body = req.body ?? {};
      const result = await withIdempotency(deps, caller.user.id, idempotencyKey(req), `conversation:${caller.assistant}`, body, async () => ({
        status: 201,
        body: await createConversation(deps, caller, { title: body.title }),
      }));
      return reply.status(result.status).send(result.body);
    },
  );

  app.get(
    '/conversations/:conversation_id',
    { schema: { operationId: 'get-conversation', tags: ['conversations'], params: S.ConversationParams, response: { 200: S.Conversation, ...errors } } },
    async (req) => getConversation(deps, requireCaller(req), req.params.conversation_id),
  );

  app.patch(
    '/conversations/:conversation_id',
    { schema: { operationId: 'update-conversation', tags: ['conversations'], params: S.ConversationParams, body: S.UpdateConversationRequest, response: { 200: S.Conversation, ...errors } } },
    async (req) => updateConversation(deps, requireCaller(req), req.params.conversation_id, req.body),
  );

  app.delete(
    '/conversations/:conversation_id',
    {
      schema: {
        operationId: 'delete-conversation',
        tags: ['conversations'],
        headers,
        params: S.ConversationParams,
        response: { 204: z.null().describe('Deleted'), ...errors },
      },
    },
    async (req, reply) => {
      await deleteConversation(deps, requireCaller(req), req.params.conversation_id, events);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/conversations/:conversation_id/events',
    {
      schema: {
        operationId: 'list-events',
        tags: ['conversations'],
        params: S.ConversationParams,
        querystring: S.ListEventsQuery,
        response: { 200: dialect === 'v1' ? S.ListEventsResponseV1 : S.ListEventsResponse, ...errors },
      },
    },
    async (req) => {
      const out = await listEvents(deps, requireCaller(req), req.params.conversation_id, req.query);
      return v1
        ? out
        : { ...out, events: out.events.map(({ created_at: _, event_payload, ...e }) => ({ ...e, event_payload: { ...event_payload, message: betaMessage(event_payload.message) } })) };
    },
  );

  const createOnce = async (req: FastifyRequest, convId: string, body: { input: { text?: string | undefined; callback_id?: string | undefined } }) => {
    const caller = requireCaller(req);
    return withIdempotency(deps, caller.user.id, idempotencyKey(req), `response:${caller.assistant}:${convId}`, body, async () => {
      if (body.input.text !== undefined) return { status: 202, body: await createResponse(deps, caller, convId, body.input.text, req.id) };
      // V1: a button of an earlier message. Verified here; claimed (once, ever) in the statement that stores it.
      const cb = readActionCallbackId(deps.keys, caller.user.id, body.input.callback_id ?? '');
      if (!cb || cb.conversationId !== convId) throw new ApiError('INVALID_INPUT', 'input.callback_id does not name an action offered in this conversation');
      return { status: 202, body: await createResponse(deps, caller, convId, null, req.id, { ...cb, callbackId: body.input.callback_id! }) };
    });
  };

  app.post(
    '/conversations/:conversation_id/responses',
    { schema: { operationId: 'create-response', tags: ['responses'], headers, params: S.ConversationParams, body: createBody, response: { 202: R.Response, ...errors } } },
    async (req, reply) => {
      const result = await createOnce(req, req.params.conversation_id, req.body);
      return reply.status(result.status).send(shapeResponse(result.body));
    },
  );

  app.post(
    '/conversations/:conversation_id/responses/stream',
    {
      schema: {
        operationId: 'create-response-stream',
        tags: ['responses'],
        description: 'Creates a response and streams its events as Server-Sent Events.',
        headers,
        params: S.ConversationParams,
        body: createBody,
        response: { 200: z.string().describe('text/event-stream'), 406: S.ErrorResponse, ...errors },
      },
    },
    async (req, reply) => {
      if (!acceptsEventStream(req)) throw new ApiError('NOT_ACCEPTABLE', 'this endpoint only produces text/event-stream');
      const lastEventId = lastEventIdOf(req);
      const result = await createOnce(req, req.params.conversation_id, req.body);
      const response = result.body;
      if (result.replayed) {
        // A retry of an earlier stream (same Idempotency-Key): resume that response after the client's last
        // event, as fetch-event-source and EventSource-like clients do (contract §5).
        await streamEvents(reply, deps, events, metrics, open, response.response_id, lastEventId ?? 0, frames);
        return;
      }
      const first = { seq: 1, event_type: 'RESPONSE_CREATED' as const, data: JSON.stringify({ event_type: 'RESPONSE_CREATED', sequence_number: 1, response }) };
      await streamEvents(reply, deps, events, metrics, open, response.response_id, 0, { first, ...frames });
    },
  );

  app.get(
    '/conversations/:conversation_id/responses/:response_id',
    { schema: { operationId: 'get-response', tags: ['responses'], params: S.ResponseParams, response: { 200: R.Response, ...errors } } },
    async (req) => shapeResponse(await getResponse(deps, requireCaller(req), req.params.conversation_id, req.params.response_id)),
  );

  app.post(
    '/conversations/:conversation_id/responses/:response_id/cancel',
    {
      schema: {
        operationId: 'cancel-response',
        tags: ['responses'],
        summary: 'Cancel a response (extension)',
        description:
          'Extension: a CREATED or IN_PROGRESS response ends FAILED with error.code CANCELLED at once, and the assistant stops working on it; its streams get RESPONSE_FAILED. A finished response is returned unchanged.',
        headers,
        params: S.ResponseParams,
        response: { 200: R.Response, ...errors },
      },
    },
    async (req) => shapeResponse(await cancelResponse(deps, requireCaller(req), req.params.conversation_id, req.params.response_id, events)),
  );

  app.get(
    '/conversations/:conversation_id/responses/:response_id/stream',
    {
      schema: {
        operationId: 'resume-response-stream',
        tags: ['responses'],
        description: 'Extension: replays the events after Last-Event-ID (or ?starting_after=N), then continues live.',
        params: S.ResponseParams,
        querystring: z.object({ starting_after: z.string().regex(/^\d{1,9}$/, 'starting_after must be a sequence number').transform(Number).optional() }),
        response: { 200: z.string().describe('text/event-stream'), 406: S.ErrorResponse, ...errors },
      },
    },
    async (req: FastifyRequest<{ Params: { conversation_id: string; response_id: string }; Querystring: { starting_after?: number } }>, reply: FastifyReply) => {
      if (!acceptsEventStream(req)) throw new ApiError('NOT_ACCEPTABLE', 'this endpoint only produces text/event-stream');
      const caller = requireCaller(req);
      const row = await requireResponse(deps.db, caller, req.params.conversation_id, req.params.response_id);
      const after = lastEventIdOf(req) ?? req.query.starting_after ?? 0;
      await streamEvents(reply, deps, events, metrics, open, row.id, after, frames);
    },
  );

  app.get(
    '/conversations/:conversation_id/messages',
    { schema: { operationId: 'list-conversation-messages', tags: ['messages'], params: S.ConversationParams, querystring: S.ListQuery, response: { 200: R.Messages, ...errors } } },
    async (req) => shapeMessages(await listConversationMessages(deps, requireCaller(req), req.params.conversation_id, req.query)),
  );

  app.get(
    '/conversations/:conversation_id/responses/:response_id/messages',
    { schema: { operationId: 'list-response-messages', tags: ['messages'], params: S.ResponseParams, response: { 200: R.ResponseMessages, ...errors } } },
    async (req) => shapeMessages(await listResponseMessages(deps, requireCaller(req), req.params.conversation_id, req.params.response_id)),
  );

  app.post(
    '/conversations/:conversation_id/responses/:response_id/messages/:message_id/feedback',
    { config: { validationCode: 'INVALID_REQUEST' }, schema: { operationId: 'submit-feedback', tags: ['messages'], params: S.FeedbackParams, body: S.SubmitFeedbackRequest, response: { 200: S.SubmitFeedbackResponse, ...errors } } },
    async (req) =>
      submitFeedback(
        deps,
        requireCaller(req),
        { conversationId: req.params.conversation_id, responseId: req.params.response_id, messageId: req.params.message_id },
        req.body,
      ),
  );
};
