/** The page's sign-in: a session bearer kept in this browser, obtained by exchanging a one-time link code. */
export interface Session {
  token: string;
  user: { id: string; email: string | null; name: string | null };
  expiresAt: number;
}

const KEY = 'parley.session';

export function loadSession(): Session | null {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null;
    if (s && typeof s.token === 'string' && s.expiresAt > Date.now()) return s;
  } catch {
    // A damaged entry is no session.
  }
  localStorage.removeItem(KEY);
  return null;
}

export function signOut(): void {
  localStorage.removeItem(KEY);
}

/**
 * When the page was opened from a sign-in link (`/#signin=CODE`): removes the code from the address bar and
 * history at once, then trades it for a session. The code is single-use, so a copied link is worth nothing.
 */
export async function signInFromLink(): Promise<Session | { error: string } | null> {
  const failed = /^#signin-failed=([0-9a-f-]{1,64})$/.exec(location.hash);
  if (failed) {
    history.replaceState(null, '', location.pathname);
    return { error: `Signing in with your company account did not work. Try again, or ask your administrator (trace id ${failed[1]}).` };
  }
  const m = /^#signin=([A-Za-z0-9_\-.]+)$/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname);
  let res: Response;
  try {
    res = await fetch('/auth/v1/signin-link', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: m[1] }) });
  } catch {
    return { error: 'Parley could not be reached to sign you in. Check your connection and open the link again.' };
  }
  const body = (await res.json().catch(() => null)) as { access_token?: string; expires_in?: number; user?: Session['user']; error?: { message?: string } } | null;
  if (!res.ok || !body?.access_token || !body.user) {
    const trace = res.headers.get('x-moveworks-root-uuid');
    return { error: `${body?.error?.message ?? 'Signing in failed.'}${trace ? ` (trace id ${trace})` : ''}` };
  }
  const session: Session = { token: body.access_token, user: body.user, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000 - 60_000 };
  localStorage.setItem(KEY, JSON.stringify(session));
  return session;
}
