import type { Json } from './openapi.ts';

/** The admin webhook endpoints of the published OpenAPI document (`/admin/v1/webhooks…`), outside the dialects. */

const WEBHOOK_ID: Json = { in: 'path', name: 'webhook_id', required: true, description: 'The endpoint’s id (`whep_…`).', schema: { type: 'string' } };
const WEBHOOK_EVENTS: Json = { type: 'string', enum: ['response.completed', 'response.failed', 'feedback.submitted', 'conversation.updated'] };
const WEBHOOK_SECRET: Json = { type: 'string', pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$', description: '`whsec_` and the base64 of 24–64 random bytes (Standard Webhooks).' };

/** Component schemas of the admin webhook endpoints. */
export function webhookSchemas(): Record<string, Json> {
  const endpoint: Json = {
    type: 'object',
    required: ['id', 'url', 'events', 'source'],
    properties: {
      id: { type: ['string', 'null'], description: 'Null for an endpoint from the configuration.' },
      source: { type: 'string', enum: ['config', 'api'] },
      url: { type: 'string', format: 'uri' },
      events: { type: 'array', items: WEBHOOK_EVENTS },
      description: { type: ['string', 'null'] },
      created_by: { type: 'string' },
      created_at: { type: 'string', format: 'date-time' },
      updated_at: { type: 'string', format: 'date-time' },
      previous_secret_until: { type: ['string', 'null'], format: 'date-time', description: 'Until when the previous secret also signs (after a rotation).' },
    },
  };
  const attempt: Json = {
    type: 'object',
    required: ['attempt', 'at', 'http_status', 'error', 'duration_ms'],
    properties: {
      attempt: { type: 'integer' },
      at: { type: 'string', format: 'date-time' },
      http_status: { type: ['integer', 'null'] },
      error: { type: ['string', 'null'] },
      duration_ms: { type: 'integer' },
    },
  };
  return {
    WebhookEndpoint: endpoint,
    WebhookEndpointWithSecret: { allOf: [{ $ref: '#/components/schemas/WebhookEndpoint' }, { type: 'object', required: ['secret'], properties: { secret: WEBHOOK_SECRET } }] },
    WebhookDelivery: {
      type: 'object',
      required: ['webhook_id', 'type', 'status', 'created_at', 'next_attempt_at', 'attempts'],
      properties: {
        webhook_id: { type: 'string', description: 'The `webhook-id` header, the same on every attempt.' },
        type: WEBHOOK_EVENTS,
        status: { type: 'string', enum: ['PENDING', 'DELIVERED', 'FAILED'] },
        created_at: { type: 'string', format: 'date-time' },
        next_attempt_at: { type: ['string', 'null'], format: 'date-time' },
        attempts: { type: 'array', items: attempt },
      },
    },
    WebhookEndpointWithDeliveries: {
      allOf: [
        { $ref: '#/components/schemas/WebhookEndpoint' },
        { type: 'object', required: ['deliveries'], properties: { deliveries: { type: 'array', items: { $ref: '#/components/schemas/WebhookDelivery' } } } },
      ],
    },
    CreateWebhookEndpointRequest: {
      type: 'object',
      required: ['url'],
      properties: {
        url: { type: 'string', format: 'uri', maxLength: 2048, description: 'An absolute http(s) URL without credentials.' },
        events: { type: 'array', items: WEBHOOK_EVENTS, minItems: 1, description: 'Default: all four.' },
        secret: WEBHOOK_SECRET,
        description: { type: 'string', maxLength: 500 },
      },
    },
    RotateWebhookSecretRequest: {
      type: 'object',
      properties: {
        secret: WEBHOOK_SECRET,
        overlap_hours: { type: 'integer', minimum: 0, maximum: 168, default: 24, description: 'How long the previous secret keeps signing too.' },
      },
    },
  };
}

/** Paths of the admin webhook endpoints; `root` is their `servers`, `err(status)` an error answer in the envelope. */
export function webhookPaths(root: Json[], err: (status: string) => { description: string | undefined; content: Json }): Record<string, Json> {
  return {
    '/admin/v1/webhooks': {
      servers: root,
      get: {
        operationId: 'admin-list-webhooks',
        summary: 'List webhook endpoints (admin)',
        description:
          'Every webhook endpoint — those in this node’s configuration (`source: config`, no id), then those registered through this API (`source: api`) — each with its newest deliveries and their attempts. Secrets are never shown.',
        tags: ['admin'],
        parameters: [{ in: 'query', name: 'limit', required: false, description: 'Deliveries per endpoint.', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } }],
        responses: {
          '200': {
            description: 'The endpoints',
            content: {
              'application/json': {
                schema: { type: 'object', required: ['endpoints'], properties: { endpoints: { type: 'array', items: { $ref: '#/components/schemas/WebhookEndpointWithDeliveries' } } } },
              },
            },
          },
          '400': err('400'),
          '401': err('401'),
          '403': err('403'),
        },
      },
      post: {
        operationId: 'admin-create-webhook',
        summary: 'Register a webhook endpoint (admin)',
        description:
          'Registers an endpoint that every node delivers to (stored in the database). The answer carries its signing secret — generated unless given — and is the only one that does, apart from a rotation.',
        tags: ['admin'],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateWebhookEndpointRequest' } } } },
        responses: {
          '201': { description: 'Registered', content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookEndpointWithSecret' } } } },
          '400': err('400'),
          '401': err('401'),
          '403': err('403'),
          '409': { description: 'The url is already registered or configured, or 100 endpoints exist (`CONFLICT`)', content: err('409').content },
        },
      },
    },
    '/admin/v1/webhooks/{webhook_id}': {
      servers: root,
      parameters: [WEBHOOK_ID],
      get: {
        operationId: 'admin-get-webhook',
        summary: 'Get a webhook endpoint (admin)',
        description: 'A registered endpoint, without its secret.',
        tags: ['admin'],
        responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookEndpoint' } } } }, '401': err('401'), '403': err('403'), '404': err('404') },
      },
      delete: {
        operationId: 'admin-delete-webhook',
        summary: 'Delete a webhook endpoint (admin)',
        description: 'Removes the endpoint with its queued and logged deliveries; nothing more is sent to it.',
        tags: ['admin'],
        responses: { '204': { description: 'Deleted' }, '401': err('401'), '403': err('403'), '404': err('404') },
      },
    },
    '/admin/v1/webhooks/{webhook_id}/deliveries': {
      servers: root,
      parameters: [WEBHOOK_ID],
      get: {
        operationId: 'admin-webhook-deliveries',
        summary: 'Delivery log of a webhook endpoint (admin)',
        description: 'Its newest deliveries, each with every attempt (HTTP status or error, duration).',
        tags: ['admin'],
        parameters: [{ in: 'query', name: 'limit', required: false, description: 'How many deliveries.', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } }],
        responses: {
          '200': {
            description: 'The log',
            content: {
              'application/json': {
                schema: { type: 'object', required: ['deliveries'], properties: { deliveries: { type: 'array', items: { $ref: '#/components/schemas/WebhookDelivery' } } } },
              },
            },
          },
          '400': err('400'),
          '401': err('401'),
          '403': err('403'),
          '404': err('404'),
        },
      },
    },
    '/admin/v1/webhooks/{webhook_id}/rotate-secret': {
      servers: root,
      parameters: [WEBHOOK_ID],
      post: {
        operationId: 'admin-rotate-webhook-secret',
        summary: 'Rotate a webhook endpoint’s secret (admin)',
        description:
          'Sets a new signing secret (generated unless given) and returns it. The previous secret keeps signing too — a second `v1,` signature in `webhook-signature` — for `overlap_hours` (default 24), so the receiver can switch without rejecting a delivery.',
        tags: ['admin'],
        requestBody: { required: false, content: { 'application/json': { schema: { $ref: '#/components/schemas/RotateWebhookSecretRequest' } } } },
        responses: {
          '200': { description: 'The new secret', content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookEndpointWithSecret' } } } },
          '400': err('400'),
          '401': err('401'),
          '403': err('403'),
          '404': err('404'),
        },
      },
    },
  };
}
