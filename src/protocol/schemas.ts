import { z } from 'zod';

/**
 * Wire shapes of the BETA Conversations API (`/rest/v1beta1`), one schema per shape. Request schemas
 * validate; response schemas document (/openapi.json) and type the renderers. Field names and enums follow
 * the upstream OpenAPI file exactly.
 */

export const ResponseStatus = z.enum(['CREATED', 'IN_PROGRESS', 'COMPLETED', 'FAILED']);
export type ResponseStatus = z.infer<typeof ResponseStatus>;
export const Actor = z.enum(['USER', 'ASSISTANT']);
export type Actor = z.infer<typeof Actor>;
export const StreamEventType = z.enum([
  'RESPONSE_CREATED',
  'RESPONSE_IN_PROGRESS',
  'RESPONSE_OUTPUT_DELTA',
  'RESPONSE_COMPLETED',
  'RESPONSE_FAILED',
  'ERROR',
]);
export type StreamEventType = z.infer<typeof StreamEventType>;

const isoDate = z.string().meta({ format: 'date-time' });

export const Content = z.union([
  z.object({ type: z.literal('PLAIN_TEXT'), plain_text: z.object({ text: z.string() }) }),
  z.object({ type: z.literal('COMMONMARK_TEXT'), commonmark_text: z.object({ text: z.string() }) }),
]);
export type Content = z.infer<typeof Content>;

export const Attribute = z.object({ key: z.string(), value: z.string() });
export const Citation = z.object({
  citation_id: z.string(),
  url: z.string(),
  display: z.object({ title: Content, body: Content, attributes: z.array(Attribute) }),
});
export type Citation = z.infer<typeof Citation>;
export const ContentReference = z.object({ citation_id: z.string(), offset: z.number().int() });
export type ContentReference = z.infer<typeof ContentReference>;
export const MessageFeedback = z.object({
  helpful: z.object({ callback_id: z.string() }),
  unhelpful: z.object({ callback_id: z.string() }),
});

export const Message = z.object({
  message_id: z.string(),
  conversation_id: z.string(),
  response_id: z.string(),
  actor: Actor,
  content: Content,
  citations: z.array(Citation).nullable().optional(),
  content_references: z.array(ContentReference).nullable().optional(),
  created_at: isoDate,
  feedback: MessageFeedback.nullable().optional(),
});

/** V1: the user's message when they triggered an action (`input.callback_id`). */
export const CallbackActionContent = z.object({ type: z.literal('CALLBACK_ACTION_CONTENT'), callback_action: z.object({ callback_id: z.string() }) });
export const ContentV1 = z.union([...Content.options, CallbackActionContent]);
/** V1: an action offered with a message — a button that comes back as `input.callback_id`, or a link. */
export const Action = z.union([
  z.object({ type: z.literal('CALLBACK_ACTION'), label: z.string(), callback_action: z.object({ callback_id: z.string() }) }),
  z.object({ type: z.literal('URL_ACTION'), label: z.string(), url_action: z.object({ url: z.string().meta({ format: 'uri' }) }) }),
]);
export type Action = z.infer<typeof Action>;
/** V1's message: BETA's plus `actions` and the callback content. The BETA dialect translates (routes/dialect-shapes.ts). */
export const MessageV1 = Message.extend({ content: ContentV1, actions: z.array(Action).optional() });
/** Messages as the core renders them: V1's shape, the superset of both dialects. */
export type Message = z.infer<typeof MessageV1>;

export const ReasoningMessage = z.object({
  reasoning_message_id: z.string(),
  conversation_id: z.string(),
  response_id: z.string(),
  content: Content,
  created_at: isoDate,
});
export type ReasoningMessage = z.infer<typeof ReasoningMessage>;

export const OutputItem = z.union([
  z.object({ type: z.literal('MESSAGE'), message: Message }),
  z.object({ type: z.literal('REASONING_MESSAGE'), reasoning_message: ReasoningMessage }),
]);
export const OutputItemV1 = z.union([
  z.object({ type: z.literal('MESSAGE'), message: MessageV1 }),
  z.object({ type: z.literal('REASONING_MESSAGE'), reasoning_message: ReasoningMessage }),
]);
export type OutputItem = z.infer<typeof OutputItemV1>;

export const ErrorDetail = z.object({ code: z.string(), message: z.string() });

export const Response = z.object({
  response_id: z.string(),
  conversation_id: z.string(),
  status: ResponseStatus,
  created_at: isoDate,
  completed_at: isoDate.nullable(),
  outputs: z.array(OutputItem),
  /** Extension (contract §4): present only when status is FAILED. */
  error: ErrorDetail.optional(),
});
export const ResponseV1 = Response.extend({ outputs: z.array(OutputItemV1) });
export type Response = z.infer<typeof ResponseV1>;

/** The BETA dialect's shapes (no `actions`, no callback content): what `parley/client`, which speaks BETA, sees. */
export type MessageBeta = z.infer<typeof Message>;
export type OutputItemBeta = z.infer<typeof OutputItem>;
export type ResponseBeta = z.infer<typeof Response>;

export const Conversation = z.object({
  conversation_id: z.string(),
  title: z.string().optional(),
  archived: z.boolean(),
  created_at: isoDate,
  updated_at: isoDate,
});
export type Conversation = z.infer<typeof Conversation>;

export const Metadata = z.object({ next_cursor: z.string().nullable() });

export const ListConversationsResponse = z.object({ conversations: z.array(Conversation), metadata: Metadata });
export const ListConversationMessagesResponse = z.object({ messages: z.array(Message), metadata: Metadata });
export const ListResponseMessagesResponse = z.object({ messages: z.array(Message) });
export const ListConversationMessagesResponseV1 = z.object({ messages: z.array(MessageV1), metadata: Metadata });
export const ListResponseMessagesResponseV1 = z.object({ messages: z.array(MessageV1) });

/** An event as the core returns it; the BETA dialect drops `created_at` (V1 requires it). */
export const EventV1 = z.object({
  event_id: z.string(),
  conversation_id: z.string(),
  created_at: isoDate,
  event_payload: z.object({ type: z.literal('MESSAGE_EVENT'), message: MessageV1 }),
});
export type EventV1 = z.infer<typeof EventV1>;
export const ListEventsResponseV1 = z.object({ events: z.array(EventV1), metadata: Metadata });

export const Event = z.object({
  event_id: z.string(),
  conversation_id: z.string(),
  event_payload: z.object({ type: z.literal('MESSAGE_EVENT'), message: Message }),
});
export type Event = z.infer<typeof Event>;
export const ListEventsResponse = z.object({ events: z.array(Event), metadata: Metadata });

export const SubmitFeedbackResponse = z.object({ status: z.literal('SUBMITTED') });

export const ErrorResponse = z.object({ error: ErrorDetail });

// ------------------------------------------------------------------ requests

/** Counts code points, as the contract measures text. */
const cpLength = (s: string) => Array.from(s).length;

export const CreateConversationRequest = z
  .object({
    title: z
      .string()
      .transform((s) => s.trim())
      .refine((s) => cpLength(s) >= 1 && cpLength(s) <= 256, 'title must be 1-256 characters after trimming')
      .optional(),
  })
  .nullish();

export const UpdateConversationRequest = z.object({
  title: z
    .string()
    .transform((s) => s.trim())
    .refine((s) => cpLength(s) >= 1 && cpLength(s) <= 256, 'title must be 1-256 characters after trimming')
    .optional(),
  archived: z.boolean().optional(),
});

export const MAX_INPUT_CODE_POINTS = 32000;

export const CreateResponseRequest = z.object({
  input: z.object({
    text: z
      .string()
      .refine((s) => s.trim().length > 0, 'input.text must not be empty')
      .refine((s) => cpLength(s) <= MAX_INPUT_CODE_POINTS, `input.text must be at most ${MAX_INPUT_CODE_POINTS} characters`),
  }),
});

/** V1: exactly one of `text` (a question) or `callback_id` (an action of an earlier message). */
export const CreateResponseRequestV1 = z.object({
  input: z
    .object({
      text: z
        .string()
        .refine((s) => s.trim().length > 0, 'input.text must not be empty')
        .refine((s) => cpLength(s) <= MAX_INPUT_CODE_POINTS, `input.text must be at most ${MAX_INPUT_CODE_POINTS} characters`)
        .optional(),
      callback_id: z.string().min(1).optional(),
    })
    .refine((i) => (i.text === undefined) !== (i.callback_id === undefined), 'input needs exactly one of text or callback_id'),
});

export const SubmitFeedbackRequest = z.object({
  callback_id: z.string().min(1),
  additional_feedback: z.string().optional(),
});

/** `limit`: an integer 1–100 written in decimal; anything else is INVALID_INPUT (contract §7). */
export const Limit = z
  .string()
  .regex(/^\d{1,3}$/, 'limit must be an integer between 1 and 100')
  .transform(Number)
  .refine((n) => n >= 1 && n <= 100, 'limit must be an integer between 1 and 100');

export const ListQuery = z.object({ cursor: z.string().optional(), limit: Limit.optional() });
export const ListConversationsQuery = ListQuery.extend({
  archived: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});
export const ListEventsQuery = ListQuery.extend({
  starting_after: z.string().optional(),
  ending_at: z.string().optional(),
});

export const ConversationParams = z.object({ conversation_id: z.string() });
export const ResponseParams = z.object({ conversation_id: z.string(), response_id: z.string() });
export const FeedbackParams = ResponseParams.extend({ message_id: z.string() });
