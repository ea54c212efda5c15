/**
 * Ill-formed strings are refused at the door, in one place for every route: NUL (which PostgreSQL cannot store,
 * so it used to surface as a 500) and lone surrogates (not Unicode text; two subjects or titles differing only
 * by one would collapse into the same stored string). Body, query and path parameters are all checked.
 */
import type { FastifyRequest } from 'fastify';
import { isWellFormedText } from '../knowledge/principals.ts';
import { ApiError } from '../protocol/errors.ts';

/** Where the first ill-formed string (or object key) in a parsed JSON value is, e.g. `input.text`; null if none. */
export function findIllFormed(value: unknown, root = ''): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isWellFormedText(v)) return path || '(value)';
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const at = path ? `${path}.${k}` : k;
        if (!isWellFormedText(k)) return at.replace(/[^\x20-\x7e]/g, '?');
        stack.push([child, at]);
      }
    }
  }
  return null;
}

/** `preValidation` hook: 400 in the envelope (the route's validation code) for an ill-formed string anywhere. */
export async function rejectIllFormedStrings(req: FastifyRequest): Promise<void> {
  const where = findIllFormed(req.params, 'path') ?? findIllFormed(req.query, 'query') ?? findIllFormed(req.body);
  if (where === null) return;
  const code = (req.routeOptions.config as { validationCode?: 'INVALID_REQUEST' } | undefined)?.validationCode ?? 'INVALID_INPUT';
  throw new ApiError(code, `${where}: text must be well-formed Unicode without NUL characters`);
}
