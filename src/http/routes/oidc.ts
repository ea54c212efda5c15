import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../../config.ts';
import { openToken, sealToken } from '../../core/signed.ts';
import { mintSigninCode } from '../../core/signin-links.ts';
import type { TokenSettings } from '../../core/tokens.ts';

type OidcConfig = NonNullable<Config['auth']['oidc']>;

const COOKIE = 'parley_oidc';
const COOKIE_PATH = '/auth/v1/oidc';
/** How long a person has at the identity provider before the started sign-in expires. */
const FLOW_TTL_SECONDS = 600;
const FETCH_TIMEOUT_MS = 10_000;

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

interface FlowState {
  state: string;
  nonce: string;
  verifier: string;
  exp: number;
}

/**
 * Chat-page sign-in through an OpenID Connect provider: authorization code with PKCE, this server acting as
 * the client (so a client secret, if any, never reaches the browser). The verified identity becomes a
 * one-time sign-in code handed to the page in the fragment — the same exchange as `parley token --link` — so
 * no token ever travels in a URL.
 */
export function oidcRoutes(tokens: TokenSettings, oidc: OidcConfig): FastifyPluginAsync {
  const stateKey = createHmac('sha256', tokens.hsKey).update('parley:oidc-state').digest();
  let discovery: Promise<{ meta: Discovery; jwks: ReturnType<typeof createRemoteJWKSet> }> | null = null;
  const discover = () => {
    if (!discovery) {
      discovery = (async () => {
        const url = `${oidc.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
        const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
        if (!res.ok) throw new Error(`discovery at ${url} answered ${res.status}`);
        const meta = (await res.json()) as Partial<Discovery>;
        if (meta.issuer !== oidc.issuer || !meta.authorization_endpoint || !meta.token_endpoint || !meta.jwks_uri) {
          throw new Error('discovery document does not match the configured issuer');
        }
        return { meta: meta as Discovery, jwks: createRemoteJWKSet(new URL(meta.jwks_uri)) };
      })();
      // A provider that was down is asked again next time.
      discovery.catch(() => {
        discovery = null;
      });
    }
    return discovery;
  };
  const redirectUri = (req: FastifyRequest) => `${req.protocol}://${req.host}${COOKIE_PATH}/callback`;
  const failed = (req: FastifyRequest) => `/#signin-failed=${req.id}`;

  return async (app) => {
    app.get('/auth/v1/oidc/login', async (req, reply) => {
      let meta: Discovery;
      try {
        ({ meta } = await discover());
      } catch (err) {
        req.log.error({ err }, 'OIDC discovery failed');
        return reply.redirect(failed(req));
      }
      const flow: FlowState = {
        state: randomBytes(16).toString('base64url'),
        nonce: randomBytes(16).toString('base64url'),
        verifier: randomBytes(32).toString('base64url'),
        exp: Math.floor(Date.now() / 1000) + FLOW_TTL_SECONDS,
      };
      const url = new URL(meta.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: oidc.clientId,
        redirect_uri: redirectUri(req),
        scope: oidc.scopes,
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: createHash('sha256').update(flow.verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      const secure = req.protocol === 'https' ? '; Secure' : '';
      reply.header('set-cookie', `${COOKIE}=${sealToken(stateKey, flow)}; Path=${COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=${FLOW_TTL_SECONDS}${secure}`);
      reply.header('cache-control', 'no-store');
      return reply.redirect(url.toString());
    });

    app.get<{ Querystring: Record<string, string | undefined> }>('/auth/v1/oidc/callback', async (req, reply) => {
      reply.header('set-cookie', `${COOKIE}=; Path=${COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=0`);
      reply.header('cache-control', 'no-store');
      const cookie = /(?:^|;\s*)parley_oidc=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      const flow = cookie ? (openToken(stateKey, cookie) as FlowState | null) : null;
      const { code, state, error } = req.query;
      if (error || !flow || typeof code !== 'string' || state !== flow.state || flow.exp * 1000 < Date.now()) {
        req.log.info({ reason: error ?? (flow ? 'state mismatch or expired' : 'no sign-in in progress') }, 'OIDC sign-in refused');
        return reply.redirect(failed(req));
      }
      try {
        const { meta, jwks } = await discover();
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
        const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri(req), code_verifier: flow.verifier });
        if (oidc.clientSecret) {
          const enc = (v: string) => encodeURIComponent(v);
          headers['authorization'] = `Basic ${Buffer.from(`${enc(oidc.clientId)}:${enc(oidc.clientSecret)}`).toString('base64')}`;
        } else form.set('client_id', oidc.clientId);
        const res = await fetch(meta.token_endpoint, { method: 'POST', headers, body: form, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
        const body = (await res.json().catch(() => ({}))) as { id_token?: unknown };
        if (!res.ok || typeof body.id_token !== 'string') throw new Error(`token endpoint answered ${res.status}`);
        const { payload } = await jwtVerify(body.id_token, jwks, { issuer: meta.issuer, audience: oidc.clientId, clockTolerance: 60 });
        if (payload['nonce'] !== flow.nonce) throw new Error('ID token nonce does not match');
        const user = userOf(payload, oidc.groupsClaim);
        req.log.info({ user: user.sub }, 'signed in through OIDC');
        return reply.redirect(`/#signin=${mintSigninCode(tokens.hsKey, user)}`);
      } catch (err) {
        req.log.warn({ err }, 'OIDC sign-in failed');
        return reply.redirect(failed(req));
      }
    });
  };
}

/** Who the ID token names. Its email counts only when the provider says it is verified (contract §8). */
function userOf(payload: JWTPayload, groupsClaim: string): { sub: string; email?: string; name?: string; groups: string[] } {
  if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 256) throw new Error('ID token has no subject');
  const raw = payload[groupsClaim];
  const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= 256).slice(0, 200) : [];
  const user: { sub: string; email?: string; name?: string; groups: string[] } = { sub: payload.sub, groups };
  if (typeof payload['email'] === 'string' && payload['email_verified'] === true) user.email = payload['email'].toLowerCase();
  if (typeof payload['name'] === 'string') user.name = payload['name'].slice(0, 256);
  return user;
}
