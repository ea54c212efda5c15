import { createPublicKey } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../../config.ts';
import { claimAssertionJti } from '../../core/assertion-replay.ts';
import { burnSecretCheck, verifyClientSecret } from '../../core/client-secrets.ts';
import { signUserToken, TokenError, userFromClaims, type TokenSettings } from '../../core/tokens.ts';
import { isCleanString } from '../../knowledge/principals.ts';
import type { Queryable } from '../../store/db.ts';
import { TokenEndpointLimits } from '../token-limits.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** An assertion is accepted at most this long after its `iat` (plus clock skew), whatever its `exp` says. */
const ASSERTION_MAX_AGE_SECONDS = 600;
const CLOCK_SKEW_SECONDS = 60;

function oauthError(reply: FastifyReply, status: number, error: string, description: string) {
  return reply.status(status).header('cache-control', 'no-store').send({ error, error_description: description });
}

/** Client id and secret from `Authorization: Basic` (RFC 6749 §2.3.1: form-encoded, then base64); null if malformed. */
function basicCredentials(header: string): { id: string; secret: string } | null {
  const b64 = header.slice(6).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  try {
    const id = decodeURIComponent(text.slice(0, colon).replace(/\+/g, ' '));
    const secret = decodeURIComponent(text.slice(colon + 1).replace(/\+/g, ' '));
    return isCleanString(id) && isCleanString(secret) ? { id, secret } : null;
  } catch {
    return null;
  }
}

export interface OauthDeps {
  db: Queryable;
  redis?: Redis | undefined;
}

/**
 * `POST /oauth/v1/token` (contract §8): `client_credentials` (secrets stored as salted scrypt hashes) and
 * `jwt-bearer` (a registered backend signs a one-time assertion naming the user; it may grant only the groups
 * its configuration lists). Rate limited per client and per address. Errors are OAuth-shaped, not the envelope.
 */
export function oauthRoutes(config: Config, tokens: TokenSettings, deps: OauthDeps): FastifyPluginAsync {
  const backends = config.auth.backends.map((b) => ({ ...b, key: createPublicKey(b.pem) }));
  const limits = new TokenEndpointLimits(config.rateLimit.tokenMax, config.rateLimit.windowSeconds * 1000, deps.redis);
  const warnedWeak = new Set<string>();
  const adminGroup = config.auth.adminGroup;

  return async (app) => {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    app.setErrorHandler((err, req, reply) => {
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) {
        req.log.error({ err }, 'token endpoint failed');
        return oauthError(reply, 500, 'server_error', 'internal error');
      }
      return oauthError(reply, 400, 'invalid_request', 'the request body must be a form or JSON object');
    });

    const limited = async (req: FastifyRequest, reply: FastifyReply, key: string): Promise<boolean> => {
      const r = await limits.hit(key);
      if (r.ok) return false;
      req.log.warn({ bucket: key.replace(/:.*/, '') }, 'token endpoint rate limit');
      reply.header('retry-after', String(r.retryAfter));
      await oauthError(reply, 429, 'temporarily_unavailable', `too many token requests; retry in ${r.retryAfter} s`);
      return true;
    };

    app.post('/oauth/v1/token', async (req, reply) => {
      if (await limited(req, reply, `addr:${req.ip}`)) return reply;
      const body = (req.body ?? {}) as Record<string, unknown>;
      const str = (k: string) => (typeof body[k] === 'string' && isCleanString(body[k] as string) ? (body[k] as string) : undefined);
      const grant = str('grant_type');
      const ttl = config.auth.tokenTtlSeconds;
      const answer = (token: string) =>
        reply.header('cache-control', 'no-store').send({ access_token: token, token_type: 'Bearer', expires_in: ttl });

      if (grant === 'client_credentials') {
        let id = str('client_id');
        let secret = str('client_secret');
        const auth = req.headers.authorization;
        if (auth !== undefined && /^basic(\s|$)/i.test(auth)) {
          const creds = basicCredentials(auth);
          if (!creds) {
            reply.header('www-authenticate', 'Basic realm="parley"');
            return oauthError(reply, 401, 'invalid_client', 'malformed Basic credentials');
          }
          ({ id, secret } = creds);
        }
        if (!id || !secret) return oauthError(reply, 400, 'invalid_request', 'client_id and client_secret are required');
        if (id.length > 256 || secret.length > 1024) return oauthError(reply, 401, 'invalid_client', 'unknown client or wrong secret');
        if (await limited(req, reply, `client:${id}`)) return reply;
        const client = config.auth.clients.find((c) => c.client_id === id);
        if (!client) {
          await burnSecretCheck(secret);
          return oauthError(reply, 401, 'invalid_client', 'unknown client or wrong secret');
        }
        const check = await verifyClientSecret(secret, client.secret_hash);
        if (!check.ok) return oauthError(reply, 401, 'invalid_client', 'unknown client or wrong secret');
        if (check.weak && !warnedWeak.has(client.client_id)) {
          warnedWeak.add(client.client_id);
          req.log.warn({ client: client.client_id }, 'client secret stored as unsalted sha256: replace it with `parley hash-secret` (scrypt)');
        }
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
        let claimedIssuer = '';
        try {
          const iss = decodeJwt(assertion).iss;
          if (typeof iss === 'string') claimedIssuer = iss.slice(0, 200);
        } catch {
          return oauthError(reply, 400, 'invalid_grant', 'the assertion is not a JWT');
        }
        if (await limited(req, reply, `client:assertion:${claimedIssuer}`)) return reply;
        for (const b of backends) {
          let payload: JWTPayload;
          try {
            ({ payload } = await jwtVerify(assertion, b.key, {
              algorithms: [b.alg],
              issuer: b.issuer,
              audience: [tokens.audience, tokens.issuer],
              clockTolerance: CLOCK_SKEW_SECONDS,
              maxTokenAge: ASSERTION_MAX_AGE_SECONDS,
              requiredClaims: ['sub', 'exp', 'iat', 'jti'],
            }));
          } catch {
            continue; // try the next registered backend
          }
          let user;
          try {
            user = userFromClaims(payload);
          } catch (err) {
            if (err instanceof TokenError) return oauthError(reply, 400, 'invalid_grant', err.message);
            throw err;
          }
          const jti = payload.jti!;
          if (jti.length > 256 || !isCleanString(jti)) return oauthError(reply, 400, 'invalid_grant', 'the assertion jti is not a well-formed string');
          const lastValid = Math.min(payload.exp!, payload.iat! + ASSERTION_MAX_AGE_SECONDS) + CLOCK_SKEW_SECONDS;
          if (!(await claimAssertionJti(deps.db, b.issuer, jti, new Date(lastValid * 1000)))) {
            req.log.warn({ backend: b.issuer }, 'jwt-bearer assertion replayed');
            return oauthError(reply, 400, 'invalid_grant', 'this assertion was already used (jti seen before)');
          }
          const groups = user.groups.filter((g) => b.allowGroups.includes(g) || (g !== adminGroup && b.allowGroups.includes('*')));
          if (groups.length < user.groups.length) {
            req.log.info({ backend: b.issuer, dropped: user.groups.filter((g) => !groups.includes(g)) }, 'jwt-bearer groups not allowed for this backend dropped');
          }
          return answer(
            await signUserToken(tokens, { sub: user.id, email: user.email, emailVerified: b.trustEmail, name: user.name, groups }, ttl),
          );
        }
        return oauthError(reply, 400, 'invalid_grant', 'the assertion is not signed by a registered backend, is expired, or lacks sub/iat/exp/jti');
      }

      return oauthError(reply, 400, 'unsupported_grant_type', 'grant_type must be client_credentials or ' + JWT_BEARER);
    });
  };
}
