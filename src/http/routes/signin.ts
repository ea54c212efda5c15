import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../../core/deps.ts';
import { redeemSigninCode } from '../../core/signin-links.ts';
import { signUserToken, type TokenSettings } from '../../core/tokens.ts';
import { ApiError } from '../../protocol/errors.ts';

/** How long the chat page's session token lasts; then the page asks for a new link. */
export const SESSION_TTL_SECONDS = 12 * 3600;

/**
 * `POST /auth/v1/signin-link {code}`: exchanges the one-time code of a link printed by `parley token --link`
 * for a session bearer. The code travels in the link's fragment (never sent to a server, never logged) and
 * reaches the server only in this body; no endpoint accepts a token in a URL.
 */
export function signinRoutes(deps: CoreDeps, tokens: TokenSettings): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/auth/v1/signin-link',
      { schema: { body: z.object({ code: z.string().min(1).max(2048) }) } },
      async (req, reply) => {
        const user = await redeemSigninCode(deps.db, tokens.hsKey, req.body.code, deps.now());
        if (!user) throw new ApiError('INVALID_REQUEST', 'This sign-in link is invalid, expired or already used. Ask for a new one.');
        const token = await signUserToken(tokens, { sub: user.id, email: user.email, name: user.name, groups: user.groups }, SESSION_TTL_SECONDS);
        req.log.info({ user: user.id }, 'signed in by link');
        reply.header('cache-control', 'no-store');
        return { access_token: token, token_type: 'Bearer', expires_in: SESSION_TTL_SECONDS, user: { id: user.id, email: user.email ?? null, name: user.name ?? null } };
      },
    );
  };
}
