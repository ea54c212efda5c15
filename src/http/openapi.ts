import { isDeepStrictEqual } from 'node:util';
import { webhookPaths, webhookSchemas } from './openapi-webhooks.ts';

/**
 * Finishes the OpenAPI document that `@fastify/swagger` generates from the validating zod schemas, so that
 * generated clients and proxies work from it: the headers every operation requires, `text/event-stream`
 * answers for streams, typed query parameters, named component schemas, summaries, an answer description per
 * status, and the endpoints outside the API (health, token, admin). The route schemas stay the single source
 * of truth for bodies; this only adds what zod cannot say and names what it repeats.
 */

export type Json = Record<string, unknown>;
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Json[];
  requestBody?: { content?: Record<string, { schema?: Json }>; required?: boolean };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Json }> }>;
  security?: unknown;
  tags?: string[];
};

export type Dialect = 'beta' | 'v1';
export const BASE_PATHS: Record<Dialect, string> = { beta: '/rest/v1beta1', v1: '/assistant/v1' };

const SUMMARIES: Record<string, [string, string]> = {
  'list-conversations': ['List conversations', 'The caller’s conversations with this assistant, most recently updated first, cursor-paginated.'],
  'create-conversation': ['Create a conversation', 'Starts an empty conversation; a title is optional (one is made after the first answer).'],
  'get-conversation': ['Get a conversation', 'One of the caller’s conversations.'],
  'update-conversation': ['Update a conversation', 'Renames or archives a conversation.'],
  'delete-conversation': [
    'Delete a conversation (extension)',
    'Deletes the caller’s conversation with its responses, messages, event logs, events and feedback; unfinished responses are cancelled first. Answers 204 with no body; another user’s conversation is 404, like a missing one.',
  ],
  'list-events': ['List events', 'Final assistant messages as events, for one conversation or all of them (`-`).'],
  'create-response': ['Create a response', 'Asks a question. Answers 202 with the response in `CREATED` at once; poll it or stream it.'],
  'create-response-stream': [
    'Create a response and stream it',
    'Asks a question and streams the response’s events as Server-Sent Events until its terminal event. Send an `Idempotency-Key`: a retry with the same key, body and `Last-Event-ID` resumes that response after that event.',
  ],
  'get-response': ['Get a response', 'The response with its outputs: reasoning messages, then the assistant message(s).'],
  'cancel-response': [
    'Cancel a response (extension)',
    'A `CREATED` or `IN_PROGRESS` response ends `FAILED` with `error.code: CANCELLED` at once and the assistant stops; a finished response is returned unchanged.',
  ],
  'resume-response-stream': [
    'Resume a response stream (extension)',
    'Replays the events after `Last-Event-ID` (or `starting_after`), then continues live until the terminal event; a finished response is replayed and closed.',
  ],
  'list-conversation-messages': ['List conversation messages', 'User and assistant messages, newest first, cursor-paginated.'],
  'list-response-messages': ['List response messages', 'The assistant message(s) of a response, then the user’s input.'],
  'submit-feedback': ['Submit feedback', 'Rates an assistant message with one of its feedback callback ids; the latest rating wins.'],
};

/** Named component schemas: where each first appears, by operation and answer (or `body`). */
const NAMED: [name: string, operationId: string, where: string][] = [
  ['Conversation', 'create-conversation', '201'],
  ['ListConversationsResponse', 'list-conversations', '200'],
  ['Response', 'get-response', '200'],
  ['ListEventsResponse', 'list-events', '200'],
  ['ListConversationMessagesResponse', 'list-conversation-messages', '200'],
  ['ListResponseMessagesResponse', 'list-response-messages', '200'],
  ['SubmitFeedbackResponse', 'submit-feedback', '200'],
  ['ErrorResponse', 'get-conversation', '404'],
  ['CreateConversationRequest', 'create-conversation', 'body'],
  ['UpdateConversationRequest', 'update-conversation', 'body'],
  ['CreateResponseRequest', 'create-response', 'body'],
  ['SubmitFeedbackRequest', 'submit-feedback', 'body'],
];

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted: the response is stored and will be answered',
  '204': 'Done; no body',
  '400': 'Invalid request (`INVALID_INPUT`, `INVALID_CURSOR`, `INVALID_REQUEST`)',
  '401': 'Missing, invalid or expired bearer token (`UNAUTHORIZED`)',
  '403': 'Missing or unknown `Assistant-Name`, or the token may not use it (`FORBIDDEN`)',
  '404': 'Not found, or not the caller’s (`NOT_FOUND`)',
  '406': 'The `Accept` header excludes `text/event-stream` (`NOT_ACCEPTABLE`)',
  '409': 'A request with this `Idempotency-Key` is still being written (`CONFLICT`)',
  '415': 'The body is not JSON (`UNSUPPORTED_MEDIA_TYPE`)',
  '422': 'This `Idempotency-Key` was used with a different body (`IDEMPOTENCY_KEY_REUSED`)',
  '429': 'Rate limit exceeded (`RATE_LIMIT_EXCEEDED`); see `Retry-After`',
  '500': 'Internal error (`INTERNAL_ERROR`)',
  '503': 'Unavailable (`SERVICE_UNAVAILABLE`)',
};

const SSE_DESCRIPTION =
  'Server-Sent Events. Each event is `id: <sequence_number>`, `event: <EVENT_TYPE>`, `data: <one line of JSON>`; types: RESPONSE_CREATED, RESPONSE_IN_PROGRESS, RESPONSE_OUTPUT_DELTA (one output item, assistant messages as growing snapshots), then exactly one RESPONSE_COMPLETED or RESPONSE_FAILED, after which the server closes. `: keep-alive` comments at least every 15 s.';

const header = (name: string, required: boolean, description: string, schema: Json = { type: 'string' }): Json => ({
  in: 'header',
  name,
  required,
  description,
  schema,
});

const ASSISTANT_NAME = header('Assistant-Name', true, 'The assistant to talk to (configured on the server).', { type: 'string', minLength: 1 });
const IDEMPOTENCY_KEY = header('Idempotency-Key', false, 'Makes a retry of this create safe for 24 h: same body, same result.', {
  type: 'string',
  minLength: 1,
  maxLength: 255,
});
const LAST_EVENT_ID = header('Last-Event-ID', false, 'Resume after this event (its sequence number).', { type: 'string', pattern: '^\\d{1,9}$' });

const QUERY_TYPES: Record<string, Json> = {
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Page size.' },
  archived: { type: 'boolean', description: 'Only archived (true) or only active (false) conversations.' },
  starting_after: { type: 'integer', minimum: 0, description: 'Replay the events after this sequence number.' },
  cursor: { type: 'string', description: 'The `next_cursor` of the previous page.' },
};

/** Everything outside a dialect's base path, with its own `servers` so paths resolve from the site root. */
function extraPaths(): Record<string, Json> {
  const root = [{ url: '/' }];
  const plain = (summary: string, description: string, tag: string, responses: Json): Json => ({
    servers: root,
    get: { operationId: summary.toLowerCase().replace(/[^a-z]+/g, '-'), summary, description, tags: [tag], security: [], responses },
  });
  const status = (example: Json) => ({ description: 'OK', content: { 'application/json': { schema: { type: 'object', example } } } });
  const err = (code: string) => ({ description: STATUS_TEXT[code], content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } } });
  return {
    '/healthz': plain('Liveness', 'The process is up.', 'operations', { '200': status({ status: 'ok' }) }),
    '/readyz': plain('Readiness', 'The database answers; `degraded` lists dependencies the node runs without (e.g. `redis`).', 'operations', {
      '200': status({ status: 'ready' }),
      '503': err('503'),
    }),
    '/metrics': plain('Prometheus metrics', 'Metrics in the Prometheus text format.', 'operations', {
      '200': { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } },
    }),
    '/oauth/v1/token': {
      servers: root,
      post: {
        operationId: 'issue-token',
        summary: 'Issue an access token',
        description: 'OAuth 2.0 token endpoint: `client_credentials` or `urn:ietf:params:oauth:grant-type:jwt-bearer`. Form or JSON body. Errors follow RFC 6749 (`error`, `error_description`).',
        tags: ['oauth'],
        security: [],
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': { schema: { $ref: '#/components/schemas/TokenRequest' } },
            'application/json': { schema: { $ref: '#/components/schemas/TokenRequest' } },
          },
        },
        responses: {
          '200': {
            description: 'A bearer token',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['access_token', 'token_type', 'expires_in'],
                  properties: { access_token: { type: 'string' }, token_type: { type: 'string', enum: ['Bearer'] }, expires_in: { type: 'integer' } },
                },
              },
            },
          },
          '400': { description: 'invalid_request, invalid_grant or unsupported_grant_type', content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } } },
          '401': { description: 'invalid_client', content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } } },
          '429': err('429'),
        },
      },
    },
    '/admin/v1/ingest': {
      servers: root,
      post: {
        operationId: 'admin-ingest',
        summary: 'Ingest knowledge (admin)',
        description: 'Loads parsed documents and people into an assistant’s knowledge; what `parley ingest` sends to a running server. Needs a token of the admin group.',
        tags: ['admin'],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { '200': { description: 'A summary of what changed', content: { 'application/json': { schema: { type: 'object' } } } }, '400': err('400'), '401': err('401'), '403': err('403') },
      },
    },
    ...webhookPaths(root, err),
    '/admin/v1/feedback': {
      servers: root,
      get: {
        operationId: 'admin-feedback',
        summary: 'Export feedback (admin)',
        description: 'Every rating submitted, newest first. Needs a token of the admin group.',
        tags: ['admin'],
        responses: { '200': { description: 'Feedback records', content: { 'application/json': { schema: { type: 'object' } } } }, '401': err('401'), '403': err('403') },
      },
    },
    '/admin/v1/plugin-calls': {
      servers: root,
      get: {
        operationId: 'admin-plugin-calls',
        summary: 'Plugin call audit (admin)',
        description:
          'Every plugin call, offered (waiting for confirmation) or made, newest first: user, plugin, inputs with secrets masked, status, HTTP status, duration. Needs a token of the admin group.',
        tags: ['admin'],
        parameters: [
          { name: 'assistant', in: 'query', required: false, description: 'Only this assistant’s calls.', schema: { type: 'string' } },
          { name: 'limit', in: 'query', required: false, description: 'Page size, 1–500 (default 50).', schema: { type: 'integer', minimum: 1, maximum: 500 } },
          { name: 'cursor', in: 'query', required: false, description: 'metadata.next_cursor of the previous page.', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'Plugin calls', content: { 'application/json': { schema: { $ref: '#/components/schemas/PluginCallList' } } } },
          '400': err('400'),
          '401': err('401'),
          '403': err('403'),
        },
      },
    },
  };
}

/** Turns the generated document into the published one for `dialect`. */
export function finishOpenApi(generated: Json, dialect: Dialect): Json {
  const doc = structuredClone(generated) as Json & { paths: Record<string, Record<string, Operation>>; components?: Json };
  const schemas: Record<string, Json> = {};
  const ops = Object.values(doc.paths).flatMap((p) => Object.values(p));
  const byId = new Map(ops.filter((o) => o.operationId).map((o) => [o.operationId!, o]));

  // Name the schemas, then replace every identical inline copy by a reference.
  for (const [name, opId, where] of NAMED) {
    const op = byId.get(opId);
    const schema = where === 'body' ? op?.requestBody?.content?.['application/json']?.schema : op?.responses?.[where]?.content?.['application/json']?.schema;
    if (schema && !schemas[name]) schemas[name] = structuredClone(schema);
  }
  const named = Object.entries(schemas);
  const refOf = (schema: Json | undefined): Json | undefined => {
    const hit = named.find(([, s]) => isDeepStrictEqual(s, schema));
    return hit ? { $ref: `#/components/schemas/${hit[0]}` } : undefined;
  };

  for (const op of ops) {
    const [summary, description] = SUMMARIES[op.operationId ?? ''] ?? [];
    if (summary) op.summary = summary;
    if (description) op.description = description;
    const isStream = op.operationId === 'create-response-stream' || op.operationId === 'resume-response-stream';
    const isCreate = ['create-conversation', 'create-response', 'create-response-stream'].includes(op.operationId ?? '');
    const params = (op.parameters ?? []).filter((p) => p['in'] !== 'header');
    for (const p of params) {
      const typed = p['in'] === 'query' ? QUERY_TYPES[String(p['name'])] : undefined;
      if (typed) {
        const { description: d, ...schema } = typed;
        p['schema'] = schema;
        p['description'] = d;
      }
      if (p['in'] === 'path') p['description'] ??= `The ${String(p['name']).replace('_id', '')}’s id.`;
    }
    op.parameters = [...params, ASSISTANT_NAME, ...(isCreate ? [IDEMPOTENCY_KEY] : []), ...(isStream ? [LAST_EVENT_ID] : [])];
    const body = op.requestBody?.content?.['application/json'];
    if (body?.schema) body.schema = refOf(body.schema) ?? body.schema;
    for (const [code, answer] of Object.entries(op.responses ?? {})) {
      answer.description = STATUS_TEXT[code] ?? answer.description ?? code;
      if (code === '204') {
        delete answer.content;
        continue;
      }
      if (isStream && code === '200') {
        answer.description = 'The event stream';
        answer.content = { 'text/event-stream': { schema: { type: 'string', description: SSE_DESCRIPTION } } };
        continue;
      }
      const media = answer.content?.['application/json'];
      if (media?.schema) media.schema = refOf(media.schema) ?? media.schema;
    }
  }

  schemas['TokenRequest'] = {
    type: 'object',
    required: ['grant_type'],
    properties: {
      grant_type: { type: 'string', enum: ['client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer'] },
      client_id: { type: 'string' },
      client_secret: { type: 'string' },
      assertion: { type: 'string', description: 'For jwt-bearer: a JWT signed by a configured backend.' },
    },
  };
  Object.assign(schemas, webhookSchemas());
  const nullable = (type: string) => ({ type: [type, 'null'] });
  schemas['PluginCall'] = {
    type: 'object',
    required: ['call_id', 'assistant', 'user', 'plugin', 'inputs', 'status', 'created_at'],
    properties: {
      call_id: { type: 'string' },
      assistant: { type: 'string' },
      user: { type: 'string', description: 'The token subject of the user the call was for.' },
      plugin: { type: 'string' },
      inputs: { type: 'object', description: 'Inputs as filled; `secret` inputs and configured secrets read `***`.' },
      status: { type: 'string', enum: ['PENDING', 'CONFIRMED', 'CANCELLED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'EXPIRED'] },
      created_at: { type: 'string', format: 'date-time' },
      started_at: { ...nullable('string'), format: 'date-time' },
      finished_at: { ...nullable('string'), format: 'date-time' },
      duration_ms: nullable('integer'),
      http_status: nullable('integer'),
      error: nullable('string'),
      conversation_id: nullable('string'),
      response_id: nullable('string'),
      trace_id: nullable('string'),
    },
  };
  schemas['PluginCallList'] = {
    type: 'object',
    required: ['calls', 'metadata'],
    properties: {
      calls: { type: 'array', items: { $ref: '#/components/schemas/PluginCall' } },
      metadata: { type: 'object', required: ['next_cursor'], properties: { next_cursor: nullable('string') } },
    },
  };
  schemas['OAuthError'] = { type: 'object', required: ['error'], properties: { error: { type: 'string' }, error_description: { type: 'string' } } };

  const other = dialect === 'beta' ? 'v1' : 'beta';
  doc['info'] = {
    title: `Parley Conversations API (${dialect === 'beta' ? 'BETA' : 'V1'} dialect)`,
    version: '0.1.0',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    description: `Wire-compatible with the Conversations API at \`${BASE_PATHS[dialect]}\`. The same API in the ${other === 'v1' ? 'V1' : 'BETA'} dialect: \`/openapi.json?dialect=${other}\`. Every API operation needs \`Authorization: Bearer <token>\` and \`Assistant-Name\`.`,
  };
  doc['servers'] = [{ url: BASE_PATHS[dialect] }];
  doc['tags'] = [
    { name: 'conversations', description: 'Conversations and their events' },
    { name: 'responses', description: 'Questions and their answers, polled or streamed' },
    { name: 'messages', description: 'Messages and feedback' },
    { name: 'oauth', description: 'Tokens' },
    { name: 'admin', description: 'Administration (admin group)' },
    { name: 'operations', description: 'Health and metrics' },
  ];
  doc.paths = { ...doc.paths, ...(extraPaths() as Record<string, Record<string, Operation>>) };
  doc.components = { ...(doc.components ?? {}), schemas: { ...((doc.components?.['schemas'] as Json | undefined) ?? {}), ...schemas } };
  return doc;
}
