import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.ts';
import { ApiError } from '../../protocol/errors.ts';
import { webAssets } from '../web-bundle.ts';

/**
 * Strict by design: the page runs only its own bundled script, loads nothing from elsewhere, and even an
 * answer that slipped markup past the renderer could not run script or send data away.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

function escapeAttr(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The chat page at `/` and its hashed assets under `/web/`. */
export function webRoutes(config: Config): FastifyPluginAsync {
  return async (app) => {
    const security = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' };
    const build = async () => {
      try {
        return await webAssets();
      } catch (err) {
        app.log.error({ err }, 'chat page build failed');
        throw new ApiError('INTERNAL_ERROR', 'The chat page could not be built.');
      }
    };
    app.get('/', { logLevel: 'warn' }, async (_req, reply) => {
      const { html } = await build();
      const page = html.replace('{{ASSISTANT}}', escapeAttr(config.assistants[0]!.name)).replace('{{OIDC}}', config.auth.oidc ? 'on' : 'off');
      return reply.headers({ ...security, 'cache-control': 'no-cache' }).type('text/html; charset=utf-8').send(page);
    });
    app.get<{ Params: { file: string } }>('/web/:file', { logLevel: 'warn' }, async (req, reply) => {
      const file = (await build()).files.get(req.params.file);
      if (!file) throw new ApiError('NOT_FOUND', 'no such file');
      // Names carry their content hash: cache for a year.
      return reply.headers({ ...security, 'cache-control': 'public, max-age=31536000, immutable' }).type(file.type).send(file.body);
    });
  };
}
