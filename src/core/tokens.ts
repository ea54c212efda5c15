import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { AskingUser } from '../assistant/engine.ts';
import { isCleanString } from '../knowledge/principals.ts';

export interface TokenSettings {
  /** HS256 key (derived from the installation's master secret, or configured). */
  hsKey: Uint8Array;
  issuer: string;
  audience: string;
  acceptIssuers: string[];
  acceptAudiences: string[];
  publicKeys: { alg: 'RS256' | 'ES256' | 'EdDSA'; pem: string; kid?: string | undefined }[];
  jwksUrl?: string | undefined;
  ttlSeconds: number;
  /** Issuers whose `email` claim is taken as verified even without `email_verified: true`. */
  emailTrustedIssuers?: string[] | undefined;
}

/** Why a token was refused; never shown in detail to the client beyond a short reason. */
export class TokenError extends Error {
  override name = 'TokenError';
}

const ASYMMETRIC = ['RS256', 'ES256', 'EdDSA'] as const;
const CLOCK_SKEW_SECONDS = 60;
const CACHE_MAX = 10000;

/**
 * Signs a bearer token for a user with the installation's HS256 key. Parley vouches for the email it writes
 * (`email_verified: true`) unless told otherwise: a jwt-bearer backend not trusted for email passes `false`.
 */
export async function signUserToken(
  settings: Pick<TokenSettings, 'hsKey' | 'issuer' | 'audience'>,
  user: { sub: string; email?: string | undefined; emailVerified?: boolean | undefined; name?: string | undefined; groups?: string[] | undefined },
  ttlSeconds: number,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const claims: JWTPayload = { ...extra };
  if (user.email) {
    claims['email'] = user.email;
    claims['email_verified'] = user.emailVerified !== false;
  }
  if (user.name) claims['name'] = user.name;
  if (user.groups && user.groups.length) claims['groups'] = user.groups;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user.sub)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(settings.hsKey);
}

/**
 * Verifies bearer tokens (contract §2, §8): HS256 with the local key, or RS256/ES256/EdDSA with configured
 * public keys or a JWKS. The algorithm family is fixed by the key, so an HS token can never be checked
 * against a public key (alg confusion) and `none` is never accepted. Verified tokens are cached until expiry.
 */
export class TokenVerifier {
  private readonly cache = new Map<string, { user: AskingUser; exp: number; admin: boolean }>();
  private readonly keys: { alg: string; key: KeyObject; kid?: string | undefined }[];
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | null;
  private readonly issuers: string[];
  private readonly audiences: string[];

  constructor(
    private readonly settings: TokenSettings,
    private readonly adminGroup: string,
  ) {
    this.keys = settings.publicKeys.map((k) => ({ alg: k.alg, key: createPublicKey(k.pem), kid: k.kid }));
    this.jwks = settings.jwksUrl ? createRemoteJWKSet(new URL(settings.jwksUrl)) : null;
    this.issuers = [settings.issuer, ...settings.acceptIssuers];
    this.audiences = [settings.audience, ...settings.acceptAudiences];
  }

  async verify(token: string): Promise<{ user: AskingUser; admin: boolean }> {
    const nowSec = Date.now() / 1000;
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.exp + CLOCK_SKEW_SECONDS > nowSec) return hit;
      this.cache.delete(token);
    }
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenError('malformed token');
    }
    const alg = header.alg;
    const opts = { issuer: this.issuers, audience: this.audiences, clockTolerance: CLOCK_SKEW_SECONDS, requiredClaims: ['sub', 'exp'] };
    let payload: JWTPayload;
    try {
      if (alg === 'HS256') {
        ({ payload } = await jwtVerify(token, this.settings.hsKey, { ...opts, algorithms: ['HS256'] }));
      } else if (alg && (ASYMMETRIC as readonly string[]).includes(alg)) {
        payload = await this.verifyAsymmetric(token, alg, header.kid, opts);
      } else {
        throw new TokenError(`unsupported algorithm ${String(alg)}`);
      }
    } catch (err) {
      if (err instanceof TokenError) throw err;
      throw new TokenError((err as Error).message || 'invalid token');
    }
    const user = userFromClaims(payload, { emailTrustedIssuers: this.settings.emailTrustedIssuers ?? [], adminGroup: this.adminGroup });
    const entry = { user, exp: payload.exp!, admin: user.admin === true };
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, entry);
    return entry;
  }

  private async verifyAsymmetric(
    token: string,
    alg: string,
    kid: string | undefined,
    opts: { issuer: string[]; audience: string[]; clockTolerance: number; requiredClaims: string[] },
  ): Promise<JWTPayload> {
    const candidates = this.keys.filter((k) => k.alg === alg && (kid === undefined || k.kid === undefined || k.kid === kid));
    let lastErr: unknown = new TokenError('no key for this token');
    for (const k of candidates) {
      try {
        return (await jwtVerify(token, k.key, { ...opts, algorithms: [alg] })).payload;
      } catch (err) {
        lastErr = err;
      }
    }
    if (this.jwks) return (await jwtVerify(token, this.jwks, { ...opts, algorithms: [alg] })).payload;
    throw lastErr;
  }
}

/**
 * The asking user from verified claims. Strings PostgreSQL cannot store (NUL) or that are not well-formed
 * Unicode (lone surrogates, which would let different subjects collapse into one) make the token invalid.
 * The email counts as verified only with `email_verified: true` or from an issuer trusted for email.
 */
export function userFromClaims(
  payload: JWTPayload,
  opts: { emailTrustedIssuers?: readonly string[]; adminGroup?: string } = {},
): AskingUser {
  if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 256) throw new TokenError('token has no subject');
  if (!isCleanString(payload.sub)) throw new TokenError('token subject is not a well-formed string');
  const groupsClaim = payload['groups'];
  const groups = Array.isArray(groupsClaim) ? groupsClaim.filter((g): g is string => typeof g === 'string').slice(0, 200) : [];
  const email = typeof payload['email'] === 'string' && payload['email'] !== '' ? payload['email'] : undefined;
  const name = typeof payload['name'] === 'string' ? payload['name'] : undefined;
  for (const [what, v] of [['email', email], ['name', name], ...groups.map((g) => ['groups', g])] as [string, string | undefined][]) {
    if (v !== undefined && (v.length > 512 || !isCleanString(v))) throw new TokenError(`token ${what} claim is not a well-formed string`);
  }
  const flag = payload['email_verified'];
  const emailVerified =
    email !== undefined &&
    (flag === true || flag === 'true' || (typeof payload.iss === 'string' && (opts.emailTrustedIssuers ?? []).includes(payload.iss)));
  const admin = opts.adminGroup !== undefined && groups.includes(opts.adminGroup);
  return { id: payload.sub, email, name, groups, emailVerified, admin };
}
