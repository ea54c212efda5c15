import { BadRequestError, ForbiddenError, NetworkError, NotFoundError, ParleyError, RateLimitError, UnauthorizedError } from 'parley/client';
import { h } from './dom.ts';

const oidc = document.querySelector<HTMLMetaElement>('meta[name="parley-oidc"]')?.content === 'on';

/** An error in plain words, with the trace id an operator can look up. */
export function describe(err: unknown): string {
  let words = 'Something went wrong.';
  if (err instanceof NetworkError) words = 'Parley cannot be reached. Check your connection and try again.';
  else if (err instanceof UnauthorizedError) words = 'Your session has ended. Please sign in again.';
  else if (err instanceof ForbiddenError) words = 'You are not allowed to use this assistant.';
  else if (err instanceof NotFoundError) words = 'That conversation no longer exists.';
  else if (err instanceof RateLimitError) words = 'Too many requests. Wait a moment and try again.';
  else if (err instanceof BadRequestError) words = `Parley could not accept that: ${err.message}`;
  else if (err instanceof ParleyError && err.status >= 500) words = 'Parley had a problem on its side. Try again in a moment.';
  const trace = err instanceof ParleyError && err.traceId ? ` (trace id ${err.traceId})` : '';
  return words + trace;
}

export function signInScreen(message?: string): void {
  document.getElementById('app')!.replaceChildren(
    h(
      'main',
      { class: 'signin' },
      h('h1', {}, 'Parley'),
      message ? h('p', { class: 'error', role: 'alert' }, message) : null,
      oidc ? h('p', {}, h('a', { class: 'sso', href: '/auth/v1/oidc/login' }, 'Sign in with your company account')) : null,
      h('p', {}, `${oidc ? 'Or open' : 'Open'} the sign-in link your administrator gave you. An administrator creates one with:`),
      h('pre', {}, h('code', {}, 'npx parley token --user you@example.com --link')),
    ),
  );
}
