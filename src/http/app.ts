import { randomUUID } from 'node:crypto';
import { serializeBody } from './json-cache.ts';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CoreDeps } from '../core/deps.ts';
import type { TokenSettings, TokenVerifier } from '../core/tokens.ts';
import type { NotifyHub } from '../jobs/hub.ts';
import { ApiError } from '../protocol/errors.ts';
import { apiAuthHook } from './auth.ts';
import { installErrorHandling } from './errors.ts';
import type { Metrics } from './metrics.ts';
import type { SharedLimits } from './shared-limits.ts';
import { adminRoutes } from './routes/admin.ts';
import { conversationsApi } from './routes/conversations-api.ts';
import { oauthRoutes } from './routes/oauth.ts';
import { oidcRoutes } from './routes/oidc.ts';
import { BASE_PATHS, finishOpenApi, type Dialect } from './openapi.ts';
import { signinRoutes } from './routes/signin.ts';
import { webRoutes } from './routes/web.ts';
import { OpenStreams } from './sse.ts';
import { rejectIllFormedStrings } from './wire-strings.ts';

/** How long /readyz waits for the database before answering 503. */
const READY_TIMEOUT_MS = 2000;

export interface AppOptions {
  deps: CoreDeps;
  verifier: TokenVerifier;
  tokens: TokenSettings;
  events: NotifyHub;
  metrics: Metrics;
  logger: Logger;
  /** Shared rate-limit store across nodes; in-memory per node when absent. */
  redis?: Redis | undefined;
  /** The Redis-backed store with its per-node fallback (when `redis` is set). */
  limits?: SharedLimits | undefined;
  ingest: (payload: unknown, actor: string) => Promise<unknown>;
}

export const TRACE_HEADER = 'x-moveworks-root-uuid';

/** Builds the HTTP app: every route, hook and handler; no listening (tests use `inject`). */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { deps, metrics } = opts;
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // The trace id appears as `trace_id` on every log line of a request.
    logController: new LogController({ requestIdLogLabel: 'trace_id' }),
    bodyLimit: deps.config.bodyLimit,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    // Errors the router raises before any hook (an undecodable or absurdly long path): the contract's envelope and
    // trace header all the same. A path id that cannot even be read is a malformed id, hence 404 (contract §3).
    frameworkErrors: (err, req, reply) => {
      const api =
        err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError('NOT_FOUND', 'not found')
          : new ApiError('INVALID_INPUT', 'the request could not be read');
      void (reply as unknown as FastifyReply).header(TRACE_HEADER, req.id).status(api.status).send(api.toBody());
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.decorateRequest('caller', null);
  app.decorateRequest('isAdmin', false);
  app.setValidatorCompiler(validatorCompiler);
  // Responses are built by our renderers from the same schemas' types; validating them again on every reply
  // would cost more than the rest of a GET. The conformance check and tests validate them instead.
  // Bodies that never change (finished responses, cached message pages) keep their JSON text (json-cache.ts).
  app.setSerializerCompiler(() => serializeBody);
  installErrorHandling(app);

  // A fresh trace id on every response, errors, 404s and SSE included (contract §2).
  app.addHook('onRequest', async (req, reply) => {
    reply.header(TRACE_HEADER, req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requestDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  const open = new OpenStreams();
  app.addHook('preClose', async () => open.endAll());

  if (deps.config.corsOrigins.length) {
    await app.register(fastifyCors, {
      origin: deps.config.corsOrigins.includes('*') ? true : deps.config.corsOrigins,
      methods: ['GET', 'POST', 'PATCH'],
      allowedHeaders: ['authorization', 'assistant-name', 'content-type', 'idempotency-key', 'last-event-id', 'accept'],
      exposedHeaders: [TRACE_HEADER, 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after'],
      maxAge: 600,
    });
  }

  // One generated document per dialect (each sees only its own base path), finished by `finishOpenApi`.
  for (const dialect of ['beta', 'v1'] as const) {
    await app.register(fastifySwagger, {
      decorator: dialect === 'beta' ? 'swagger' : 'swaggerV1',
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Parley Conversations API', version: '0.1.0' },
        servers: [{ url: BASE_PATHS[dialect] }],
        components: { securitySchemes: { BearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
        security: [{ BearerAuth: [] }],
      },
      transform: (args) => {
        const out = jsonSchemaTransform(args);
        return args.url.startsWith(`${BASE_PATHS[dialect]}/`) ? out : { ...out, schema: { ...out.schema, hide: true } };
      },
      hideUntagged: true,
    });
  }
  const documents = new Map<Dialect, Record<string, unknown>>();
  const openApi = (dialect: Dialect): Record<string, unknown> => {
    let doc = documents.get(dialect);
    if (!doc) {
      const generated = (dialect === 'beta' ? app.swagger() : (app as unknown as { swaggerV1: () => unknown }).swaggerV1()) as Record<string, unknown>;
      doc = finishOpenApi(generated, dialect);
      documents.set(dialect, doc);
    }
    return doc;
  };
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', logLevel: 'warn', transformSpecification: () => openApi('beta') });

  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    try {
      // A frozen database must fail the probe quickly, not hold it until the statement timeout.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('readiness probe timed out')), READY_TIMEOUT_MS);
      });
      await Promise.race([deps.db.query('SELECT 1'), timeout]).finally(() => clearTimeout(timer));
      // Ready either way (limits fall back to per node), but say what is missing.
      const degraded = opts.limits?.degraded() ?? [];
      return degraded.length ? { status: 'ready', degraded } : { status: 'ready' };
    } catch {
      return reply.status(503).send(new ApiError('SERVICE_UNAVAILABLE', 'database unavailable').toBody());
    }
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get('/openapi.json', { logLevel: 'warn' }, async (req) => {
    const dialect = (req.query as { dialect?: unknown }).dialect;
    if (dialect !== undefined && dialect !== 'beta' && dialect !== 'v1') throw new ApiError('INVALID_INPUT', 'dialect must be beta or v1');
    return openApi(dialect === 'v1' ? 'v1' : 'beta');
  });

  await app.register(oauthRoutes(deps.config, opts.tokens, { db: deps.db, redis: opts.redis }));
  await app.register(adminRoutes({ deps, verifier: opts.verifier, ingest: opts.ingest }));
  await app.register(signinRoutes(deps, opts.tokens));
  if (deps.config.auth.oidc) await app.register(oidcRoutes(opts.tokens, deps.config.auth.oidc));
  await app.register(webRoutes(deps.config));

  // The same API under each dialect's base path: one scope for auth, the JSON-only rule and the per-user rate
  // limit, so a user's budget is shared across dialects.
  await app.register(async (api) => {
    api.addHook('onRequest', apiAuthHook(opts.verifier, deps.config));
    api.addHook('preValidation', rejectIllFormedStrings);
    // Bodies are JSON only (contract §7): drop Fastify's built-in text/plain parser so it becomes 415.
    api.removeContentTypeParser('text/plain');
    // A DELETE carries no body, but many clients still send `Content-Type: application/json` on every call: an
    // empty body with that header is no body, not a 400.
    api.addHook('onRequest', async (req) => {
      if (req.method === 'DELETE' && !req.headers['transfer-encoding'] && (req.headers['content-length'] ?? '0') === '0') delete req.headers['content-type'];
    });
    await api.register(fastifyRateLimit, {
      max: deps.config.rateLimit.max,
      timeWindow: deps.config.rateLimit.windowSeconds * 1000,
      hook: 'preParsing',
      enableDraftSpec: true,
      // With Redis: a store that falls back to per-node counting while Redis is unreachable (never a 500).
      ...(opts.limits && opts.redis ? { store: opts.limits.storeClass() as unknown as NonNullable<Parameters<typeof fastifyRateLimit>[1]['store']> } : {}),
      keyGenerator: (req) => `${req.caller?.user.id ?? req.ip}`,
      errorResponseBuilder: (_req, ctx) =>
        new ApiError('RATE_LIMIT_EXCEEDED', `rate limit of ${ctx.max} requests per ${deps.config.rateLimit.windowSeconds} s exceeded`, {
          headers: { 'retry-after': String(Math.max(1, Math.ceil(ctx.ttl / 1000))) },
        }),
    });
    await api.register(conversationsApi, { prefix: '/rest/v1beta1', deps, events: opts.events, metrics, open, dialect: 'beta' });
    await api.register(conversationsApi, { prefix: '/assistant/v1', deps, events: opts.events, metrics, open, dialect: 'v1' });
  });

  return app as unknown as FastifyInstance;
}
