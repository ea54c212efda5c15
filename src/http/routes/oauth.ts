import { createHash, createPublicKey, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { jwtVerify } from 'jose';
import type { Config } from '../../config.ts';
import { signUserToken, userFromClaims, type TokenSettings } from '../../core/tokens.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function oauthError(reply: FastifyReply, status: number, error: string, description: string) {
  return reply.status(status).header('cache-control', 'no-store').send({ error, error_description: description });
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * `POST /oauth/v1/token` (contract §8): `client_credentials` (secrets stored hashed) and `jwt-bearer`
 * (a registered backend signs an assertion naming the user). Errors are OAuth-shaped, not the API envelope.
 */
export function oauthRoutes(config: Config, tokens: TokenSettings): FastifyPluginAsync {
  const backends = config.auth.backends.map((b) => ({ ...b, key: createPublicKey(b.pem) }));
  return async (app) => {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    app.setErrorHandler((err, _req, reply) => {
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) return oauthError(reply, 500, 'server_error', 'internal error');
      return oauthError(reply, 400, 'invalid_request', 'the request body must be a form or JSON object');
    });

    app.post('/oauth/v1/token', async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
      const grant = str('grant_type');
      const ttl = config.auth.tokenTtlSeconds;
      const answer = (token: string) =>
        reply.header('cache-control', 'no-store').send({ access_token: token, token_type: 'Bearer', expires_in: ttl });

      if (grant === 'client_credentials') {
        let id = str('client_id');
        let secret = str('client_secret');
        const basic = req.headers.authorization;
        if (basic?.startsWith('Basic ')) {
          const [u, p] = Buffer.from(basic.slice(6), 'base64').toString('utf8').split(':');
          id = u ? decodeURIComponent(u) : id;
          secret = p !== undefined ? decodeURIComponent(p) : secret;
        }
        if (!id || !secret) return oauthError(reply, 400, 'invalid_request', 'client_id and client_secret are required');
        const client = config.auth.clients.find((c) => c.client_id === id);
        const hash = 'sha256:' + createHash('sha256').update(secret).digest('hex');
        if (!client || !safeEqualHex(hash, client.secret_hash)) return oauthError(reply, 401, 'invalid_client', 'unknown client or wrong secret');
        const token = await signUserToken(
          tokens,
          { sub: client.sub ?? `client:${client.client_id}`, email: client.email, name: client.name, groups: client.groups },
          ttl,
        );
        return answer(token);
      }

      if (grant === JWT_BEARER) {
        const assertion = str('assertion');
        if (!assertion) return oauthError(reply, 400, 'invalid_request', 'assertion is required');
        for (const b of backends) {
          try {
            const { payload } = await jwtVerify(assertion, b.key, {
              algorithms: [b.alg],
              issuer: b.issuer,
              audience: [tokens.audience, tokens.issuer],
              clockTolerance: 60,
              maxTokenAge: '10m',
              requiredClaims: ['sub', 'exp', 'iat'],
            });
            const user = userFromClaims(payload);
            return answer(await signUserToken(tokens, { sub: user.id, email: user.email, name: user.name, groups: user.groups }, ttl));
          } catch {
            // try the next registered backend
          }
        }
        return oauthError(reply, 400, 'invalid_grant', 'the assertion is not signed by a registered backend, or is expired');
      }

      return oauthError(reply, 400, 'unsupported_grant_type', 'grant_type must be client_credentials or ' + JWT_BEARER);
    });
  };
}
