import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { CoreDeps } from '../../core/deps.ts';
import { exportFeedback } from '../../core/feedback.ts';
import type { TokenVerifier } from '../../core/tokens.ts';
import { ApiError } from '../../protocol/errors.ts';
import { authenticate } from '../auth.ts';
import { listIngests } from '../../knowledge/ingest-history.ts';
import { rejectIllFormedStrings } from '../wire-strings.ts';
import { deliveryLog } from '../../webhooks/delivery.ts';
import { createEndpoint, createEndpointBody, deleteEndpoint, getEndpoint, listEndpoints, rotateSecret, rotateSecretBody } from '../../webhooks/endpoints.ts';
import { pluginCallAudit } from '../../actions/audit.ts';

export interface AdminRouteDeps {
  deps: CoreDeps;
  verifier: TokenVerifier;
  /** Applies an already-parsed ingest payload (from `parley ingest` talking to a running server). */
  ingest: (payload: unknown, actor: string) => Promise<unknown>;
}

const feedbackQuery = z.object({ assistant: z.string().optional(), since: z.iso.datetime().optional() });
const webhooksQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).optional() });
const pluginCallsQuery = z.object({
  assistant: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(2048).optional(),
});
const ingestsQuery = z.object({ assistant: z.string().min(1).max(200).optional(), limit: z.coerce.number().int().min(1).max(500).optional() });

/** Validates admin input, or 400 `INVALID_INPUT` naming the field. */
function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ApiError('INVALID_INPUT', `${issue?.path.join('.') || what}: ${issue?.message ?? `invalid ${what}`}`);
  }
  return r.data;
}

/** Operator endpoints; the token must carry the admin group (config `auth.adminGroup`). */
export function adminRoutes({ deps, verifier, ingest }: AdminRouteDeps): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', async (req) => {
      await authenticate(verifier, req);
      if (!req.isAdmin) throw new ApiError('FORBIDDEN', `admin endpoints need the ${deps.config.auth.adminGroup} group`);
    });
    app.addHook('preValidation', rejectIllFormedStrings);

    // Ingest payloads carry whole documents: allow more than the API's 1 MiB.
    app.post('/admin/v1/ingest', { bodyLimit: 64 * 1024 * 1024 }, async (req) => {
      if (typeof req.body !== 'object' || req.body === null) throw new ApiError('INVALID_INPUT', 'body must be a JSON object');
      const user = req.caller!.user;
      return ingest(req.body, user.email ?? user.id);
    });

    app.get('/admin/v1/ingests', async (req) => {
      const q = ingestsQuery.safeParse(req.query);
      if (!q.success) throw new ApiError('INVALID_INPUT', `${q.error.issues[0]?.path.join('.') || 'query'}: ${q.error.issues[0]?.message ?? 'invalid query'}`);
      return { ingests: await listIngests(deps.db, q.data) };
    });

    app.get('/admin/v1/feedback', async (req) => {
      const q = feedbackQuery.safeParse(req.query);
      if (!q.success) throw new ApiError('INVALID_INPUT', q.error.issues[0]?.message ?? 'invalid query');
      const since = q.data.since ? new Date(q.data.since) : undefined;
      return { feedback: await exportFeedback(deps, { assistant: q.data.assistant, since }) };
    });

    // Every plugin call, offered or made (actions, issue 10): user, plugin, inputs with secrets masked, outcome.
    app.get('/admin/v1/plugin-calls', async (req) => {
      const q = pluginCallsQuery.safeParse(req.query);
      if (!q.success) throw new ApiError('INVALID_INPUT', `${q.error.issues[0]?.path.join('.') || 'query'}: ${q.error.issues[0]?.message ?? 'invalid query'}`);
      return pluginCallAudit(deps, deps.config.plugins, q.data);
    });

    // Every endpoint (configured on this node, then registered through this API) with its newest deliveries and
    // their attempts; never a secret.
    app.get('/admin/v1/webhooks', async (req) => {
      const q = parse(webhooksQuery, req.query, 'query');
      const limit = q.limit ?? 50;
      const endpoints = [];
      for (const e of deps.config.webhooks) {
        endpoints.push({ id: null, source: 'config', url: e.url, events: e.events, deliveries: await deliveryLog(deps, e.url, limit) });
      }
      for (const e of await listEndpoints(deps)) {
        endpoints.push({ ...e, source: 'api', deliveries: await deliveryLog(deps, e.id, limit) });
      }
      return { endpoints };
    });

    app.post('/admin/v1/webhooks', async (req, reply) => {
      const body = parse(createEndpointBody, req.body ?? {}, 'body');
      const user = req.caller!.user;
      const created = await createEndpoint(deps, body, user.email ?? user.id);
      return reply.status(201).send({ ...created, source: 'api' });
    });

    app.get<{ Params: { id: string } }>('/admin/v1/webhooks/:id', async (req) => ({ ...(await getEndpoint(deps, req.params.id)), source: 'api' }));

    app.get<{ Params: { id: string } }>('/admin/v1/webhooks/:id/deliveries', async (req) => {
      const q = parse(webhooksQuery, req.query, 'query');
      const endpoint = await getEndpoint(deps, req.params.id);
      return { deliveries: await deliveryLog(deps, endpoint.id, q.limit ?? 50) };
    });

    app.post<{ Params: { id: string } }>('/admin/v1/webhooks/:id/rotate-secret', async (req) => {
      const body = parse(rotateSecretBody, req.body ?? {}, 'body');
      return { ...(await rotateSecret(deps, req.params.id, body)), source: 'api' };
    });

    app.delete<{ Params: { id: string } }>('/admin/v1/webhooks/:id', async (req, reply) => {
      await deleteEndpoint(deps, req.params.id);
      return reply.status(204).send();
    });
  };
}
