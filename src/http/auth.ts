import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalsOf } from '../assistant/engine.ts';
import type { Config } from '../config.ts';
import type { Caller } from '../core/deps.ts';
import { TokenError, type TokenVerifier } from '../core/tokens.ts';
import { ApiError } from '../protocol/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    isAdmin: boolean;
  }
}

// The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are the same.
const BEARER = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*)$/i;

/** 401 for every token problem (missing, malformed, bad signature, alg none, expired, wrong iss/aud). */
export async function authenticate(verifier: TokenVerifier, req: FastifyRequest): Promise<void> {
  const header = req.headers.authorization;
  if (!header) throw new ApiError('UNAUTHORIZED', 'missing Authorization: Bearer token');
  const m = BEARER.exec(header);
  if (!m) throw new ApiError('UNAUTHORIZED', 'Authorization header must be "Bearer <jwt>"');
  try {
    const { user, admin } = await verifier.verify(m[1]!);
    req.caller = { user, assistant: '' };
    req.isAdmin = admin;
  } catch (err) {
    if (err instanceof TokenError) {
      req.log.info({ reason: err.message }, 'token rejected');
      throw new ApiError('UNAUTHORIZED', 'invalid or expired token');
    }
    throw err;
  }
}

/** The `onRequest` hook of the API: authenticate, then check `Assistant-Name` (403 when absent or not allowed). */
export function apiAuthHook(verifier: TokenVerifier, config: Config) {
  const assistants = new Map(config.assistants.map((a) => [a.name, new Set(a.allow)]));
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    await authenticate(verifier, req);
    const raw = req.headers['assistant-name'];
    const name = Array.isArray(raw) ? raw[0] : raw;
    const allow = name ? assistants.get(name) : undefined;
    if (!name || !allow) throw new ApiError('FORBIDDEN', name ? 'unknown assistant' : 'missing Assistant-Name header');
    const caller = req.caller!;
    if (!allow.has('*') && !principalsOf(caller.user).some((p) => allow.has(p))) {
      throw new ApiError('FORBIDDEN', 'this token may not use this assistant');
    }
    caller.assistant = name;
  };
}

export function requireCaller(req: FastifyRequest): Caller {
  if (!req.caller || !req.caller.assistant) throw new ApiError('UNAUTHORIZED', 'not authenticated');
  return req.caller;
}
