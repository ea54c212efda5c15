import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ApiError } from '../protocol/errors.ts';
import { isDatabaseUnavailable } from '../store/db.ts';

/** While the database cannot be reached (dropped connections, a restart, a frozen server past its timeouts). */
const RETRY_AFTER_SECONDS = '2';

/** Fastify's own error codes and the envelope each becomes (contract §7). */
function fromFastify(err: FastifyError): ApiError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', 'request body is larger than 1 MiB');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('INVALID_INPUT', 'request body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('INVALID_INPUT', 'request body is not valid JSON');
    default:
      break;
  }
  if (err instanceof SyntaxError || (err as { type?: string }).type === 'entity.parse.failed') {
    return new ApiError('INVALID_INPUT', 'request body is not valid JSON');
  }
  if (err.statusCode === 400) return new ApiError('INVALID_INPUT', 'invalid request');
  return null;
}

/** One place where every error becomes the contract's envelope; unknown faults become a generic 500. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let api: ApiError | null = null;
    if (err instanceof ApiError) api = err;
    else if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const where = first?.instancePath ? first.instancePath.replace(/^\//, '').replace(/\//g, '.') : err.validationContext ?? 'request';
      const message = first?.message ?? 'invalid request';
      // The feedback endpoint's 400 is INVALID_REQUEST upstream; everything else is INVALID_INPUT.
      const code = (req.routeOptions.config as { validationCode?: 'INVALID_REQUEST' }).validationCode ?? 'INVALID_INPUT';
      api = new ApiError(code, `${err.validationContext === 'querystring' || err.validationContext === 'body' ? `${where}: ` : ''}${message}`);
    } else if ((err as { statusCode?: number }).statusCode === 429 && (err as { rateLimit?: boolean }).rateLimit) {
      api = new ApiError('RATE_LIMIT_EXCEEDED', err.message);
    } else if (isDatabaseUnavailable(err)) {
      req.log.warn({ err: err.message }, 'database unavailable');
      api = new ApiError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable. Please try again shortly.', {
        headers: { 'retry-after': RETRY_AFTER_SECONDS },
      });
      for (const [k, v] of Object.entries(api.headers)) reply.header(k, v);
      return reply.status(api.status).type('application/json; charset=utf-8').send(api.toBody());
    } else api = fromFastify(err);

    if (!api) {
      req.log.error({ err }, 'unhandled error');
      api = new ApiError('INTERNAL_ERROR', 'An internal error occurred.');
    } else if (api.status >= 500) {
      req.log.error({ err }, 'server error');
    }
    for (const [k, v] of Object.entries(api.headers)) reply.header(k, v);
    return reply.status(api.status).type('application/json; charset=utf-8').send(api.toBody());
  });

  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`);
    return reply.status(404).send(e.toBody());
  });
}
